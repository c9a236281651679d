"""Where a message is cut into questions (components/multi_question.py), on
spaCy's own English tokenizer and sentencizer, as in the project's pipeline."""

from __future__ import annotations

from typing import Any, List

import pytest
import spacy
from rasa.shared.nlu.training_data.message import Message

from components.multi_question import MAX_PARTS, QuestionFinder, question_parts


@pytest.fixture(scope="module")
def nlp() -> Any:
    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")
    return pipeline


def parts(nlp: Any, text: str) -> List[str]:
    return [part.text for part in question_parts(nlp(text))]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Is it safe? How much downtime?", ["Is it safe?", "How much downtime?"]),
        ("does it hurt and how long is the recovery", ["does it hurt", "how long is the recovery"]),
        (
            "what does it treat, and is it ok for dark skin",
            ["what does it treat", "is it ok for dark skin"],
        ),
        (
            "does it hurt, how many sessions, and when will i see results?",
            ["does it hurt", "how many sessions", "when will i see results?"],
        ),
        ("any downtime? also can i wear makeup", ["any downtime?", "can i wear makeup"]),
        # After "and also", the question is asked with the opener of the one before.
        (
            "can it shrink my pores and also help with wrinkles",
            ["can it shrink my pores", "can it help with wrinkles"],
        ),
        (
            "does it hurt and also how long is the recovery",
            ["does it hurt", "how long is the recovery"],
        ),
    ],
)
def test_questions_are_cut_where_a_new_one_starts(nlp: Any, text: str, expected: List[str]) -> None:
    assert parts(nlp, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "is it safe and effective?",  # one question with "and" in it
        "is it good for acne scars and wrinkles",
        "should a dermatologist do it or is a beautician fine",  # "or" joins alternatives
        "can i buy a roller and do it at home",  # "do it" is no question
        "can i buy a roller and do some exercise",  # nor is "do" without a subject
    ],
)
def test_one_question_with_a_joining_word_stays_whole(nlp: Any, text: str) -> None:
    assert parts(nlp, text) == [text]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hi, does it hurt", ["does it hurt"]),
        ("My skin is oily. Will it help my pores?", ["Will it help my pores?"]),
        # Nothing to ask "and also" with when the part before opens otherwise.
        ("what does it treat and also help with", ["what does it treat"]),
    ],
)
def test_parts_that_are_not_questions_are_left_out(
    nlp: Any, text: str, expected: List[str]
) -> None:
    assert parts(nlp, text) == expected


def test_a_long_pasted_text_is_not_taken_for_many_questions(nlp: Any) -> None:
    def classify(parts: Any) -> Any:
        raise AssertionError("the parts were classified")

    text = " ".join(["Does it hurt?"] * (MAX_PARTS + 1))
    message = Message(data={"text": text, "text_spacy_doc": nlp(text)})
    QuestionFinder(classify, 0.25).find(message)
    assert message.get("questions") is None
