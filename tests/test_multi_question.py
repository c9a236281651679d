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


def classified(intent: str, confidence: float) -> Message:
    return Message(data={"intent": {"name": intent, "confidence": confidence}})


def finder_for(*answers: Message) -> QuestionFinder:
    """A finder whose classifier answers the parts with `answers`, in order."""

    def classify(parts: Any) -> List[Message]:
        assert len(parts) == len(answers), [part.text for part in parts]
        return list(answers)

    return QuestionFinder(classify, 0.25)


def message(nlp: Any, text: str, intent: str, confidence: float) -> Message:
    data = {"text": text, "text_spacy_doc": nlp(text)}
    return Message(data={**data, "intent": {"name": intent, "confidence": confidence}})


def test_the_question_after_a_greeting_is_answered(nlp: Any) -> None:
    greeting = message(nlp, "hello, how many sessions do I need?", "greet", 0.5)
    finder_for(classified("faq_number_of_sessions", 0.9)).find(greeting)
    assert greeting.get("intent")["name"] == "faq_number_of_sessions"
    assert greeting.get("questions") is None


def test_a_surer_reading_of_the_whole_message_is_kept(nlp: Any) -> None:
    scars = message(nlp, "I have acne scars, will it help?", "faq_acne_scars", 0.82)
    finder_for(classified("faq_effectiveness", 0.6)).find(scars)
    assert scars.get("intent")["name"] == "faq_acne_scars"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("how many sessions do I need?", "faq_number_of_sessions"),
        # Its part would be "for acne scars?", which is no longer a follow-up.
        ("and for acne scars?", "follow_up_concern"),
    ],
)
def test_a_single_question_is_not_classified_twice(nlp: Any, text: str, intent: str) -> None:
    single = message(nlp, text, intent, 0.6)
    finder_for().find(single)  # its assertion fails if the part is classified
    assert single.get("intent")["name"] == intent
