"""The review store of unanswered questions, its masking and `make review`."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from review.masking import mask_personal_data
from review.store import ReviewStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "text, masked",
    [
        ("write to jane.doe+skin@mail.example.co.uk please", "write to [email] please"),
        ("call me on +44 7700 900123", "call me on [phone]"),
        ("my number is (555) 123-4567.", "my number is [phone]."),
        ("555.123.4567 or 07700900123", "[phone] or [phone]"),
        ("+1-202-555-0143, thanks", "[phone], thanks"),
    ],
)
def test_emails_and_phone_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "do I need 3 to 6 sessions in 2024?",
        "is 0.5 mm or 1.5 mm deeper",
        "1-2 weeks apart, 4-6 weeks total",
        "price for 100000 needles",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask_personal_data(text) == text


def test_most_frequent_groups_variants_and_keeps_the_latest_guesses(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "review.db")
    store.record("How much does it cost?", "declined", [("out_of_scope", 0.8)])
    store.record("where are you located", "not understood", [])
    store.record("how much  does it COST", "did you mean", [("faq_pain", 0.4), ("faq_risks", 0.3)])
    first, second = store.most_frequent()
    assert (first.text, first.times, first.reason) == ("how much  does it COST", 2, "did you mean")
    assert first.guesses == (("faq_pain", 0.4), ("faq_risks", 0.3))
    assert (second.text, second.times, second.guesses) == ("where are you located", 1, ())
    assert store.most_frequent(limit=1) == [first]


def test_only_question_time_reason_and_guesses_are_stored(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "review.db")
    store.record("call 0151 496 0000 about prices " + "x" * 5000, "declined", [])
    with sqlite3.connect(tmp_path / "review.db") as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(unanswered)")]
        (text,) = connection.execute("SELECT text FROM unanswered").fetchone()
    assert columns == ["id", "asked_at", "reason", "text", "normalized", "guesses"]
    assert text.startswith("call [phone] about prices x") and len(text) == 1000


def test_blank_messages_are_not_recorded(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "review.db")
    store.record("  ?! ", "not understood", [])
    assert store.most_frequent() == []


def test_an_unwritable_store_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = ReviewStore(blocker / "review.db")
    with caplog.at_level(logging.ERROR, logger="review.store"):
        store.record("how much is it", "declined", [])
        store.record("where is the clinic", "declined", [])
    assert [r.message for r in caplog.records if "Cannot record" in r.message] == [
        caplog.records[0].message
    ]
    assert str(blocker / "review.db") in caplog.records[0].message


def review_cli(store: Path) -> str:
    command = [sys.executable, "-m", "review", "--store", str(store), "--limit", "5"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_review_lists_the_most_frequent_first(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "review.db")
    for _ in range(3):
        store.record("Do you do laser hair removal?", "declined", [("out_of_scope", 0.97)])
    store.record("what's the parking like", "not understood", [("faq_procedure", 0.2)])
    output = review_cli(tmp_path / "review.db")
    assert output.index("3x  Do you do laser hair removal?") < output.index(
        "1x  what's the parking like"
    )
    assert "guesses: out_of_scope 0.97" in output


def test_make_review_says_when_nothing_is_recorded(tmp_path: Path) -> None:
    assert "No unanswered questions recorded yet" in review_cli(tmp_path / "none.db")
