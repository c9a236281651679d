"""`make review`: the most frequent questions the assistant did not answer.

Usage: python -m review [--limit 20] [--store PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from review.store import DEFAULT_PATH, ReviewStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="how many questions to list")
    parser.add_argument("--store", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args()
    questions = ReviewStore(args.store).most_frequent(args.limit)
    if not questions:
        print(f"No unanswered questions recorded yet in {args.store}.")
        return
    print(f"Most frequent unanswered questions ({args.store}):\n")
    for question in questions:
        guesses = ", ".join(f"{intent} {confidence:.2f}" for intent, confidence in question.guesses)
        print(f"{question.times:4d}x  {question.text}")
        print(f"       {question.reason}, last {question.last_asked}; guesses: {guesses or 'none'}")
    print("\nAdd a knowledge entry and training examples, or examples to an existing topic;")
    print("README 'Adding a question' shows how.")


if __name__ == "__main__":
    main()
