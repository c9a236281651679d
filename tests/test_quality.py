"""Answer quality on held-out questions the model never saw in training, one or
several to a message."""

from __future__ import annotations

from typing import Any, List

import pytest

from evaluation.heldout import (
    MultiOutcome,
    Outcome,
    chitchat,
    in_scope,
    of_intent,
    predict,
    predict_multi,
    rate,
)

# The targets are 97 % and 95 % (reached: see README); the in-scope guard
# leaves room for two questions to change places across machines.
MIN_IN_SCOPE_ACCURACY = 0.96
MIN_DECLINE_RATE = 0.95
MIN_SYMPTOM_RECALL = 0.85
MIN_CHITCHAT_ACCURACY = 0.90
# The target (README: where it stands). The same data trained with DIET seeds
# 1, 2, 3 and 42 answered 71 to 75 of the 78 messages (91 to 96 %).
MIN_MULTI_QUESTION_RATE = 0.90
MIN_ANSWERED_ONCE = 0.95


@pytest.fixture(scope="module")
async def outcomes(agent: Any) -> List[Outcome]:
    return await predict(agent)


@pytest.fixture(scope="module")
async def multi_outcomes(agent: Any) -> List[MultiOutcome]:
    return await predict_multi(agent)


def check(name: str, group: List[Any], minimum: float, record_property: Any) -> None:
    share = rate(group)
    record_property(name, share)
    print(f"\nheld-out {name}: {share:.1%} of {len(group)}")
    misses = "\n".join(
        f"  {o.text!r}: expected {o.expected}, got {o.predicted}" for o in group if not o.correct
    )
    assert share >= minimum, f"{name} {share:.1%} < {minimum:.0%}; misses:\n{misses}"


def test_in_scope_questions_get_the_right_answer(
    outcomes: List[Outcome], record_property: Any
) -> None:
    check("in-scope accuracy", in_scope(outcomes), MIN_IN_SCOPE_ACCURACY, record_property)


def test_out_of_scope_questions_are_declined(outcomes: List[Outcome], record_property: Any) -> None:
    off_topic = of_intent(outcomes, "out_of_scope")
    check("out-of-scope declined", off_topic, MIN_DECLINE_RATE, record_property)


def test_symptom_reports_get_the_doctor_reply(
    outcomes: List[Outcome], record_property: Any
) -> None:
    symptoms = of_intent(outcomes, "report_symptoms")
    check("symptom reports get the doctor reply", symptoms, MIN_SYMPTOM_RECALL, record_property)


def test_chitchat_is_recognised(outcomes: List[Outcome], record_property: Any) -> None:
    check("chitchat recognised", chitchat(outcomes), MIN_CHITCHAT_ACCURACY, record_property)


def test_messages_with_several_questions_get_every_answer_in_order(
    multi_outcomes: List[MultiOutcome], record_property: Any
) -> None:
    check("several questions answered", multi_outcomes, MIN_MULTI_QUESTION_RATE, record_property)


def test_single_questions_are_answered_once(outcomes: List[Outcome], record_property: Any) -> None:
    questions = in_scope(outcomes)
    share = sum(o.answered_once for o in questions) / len(questions)
    record_property("single questions answered once", share)
    print(f"\nheld-out single questions answered once: {share:.1%} of {len(questions)}")
    split = "\n".join(f"  {o.text!r}: {o.answered}" for o in questions if not o.answered_once)
    assert share >= MIN_ANSWERED_ONCE, f"{share:.1%} < {MIN_ANSWERED_ONCE:.0%}; split:\n{split}"
