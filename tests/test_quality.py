"""Answer quality on held-out questions the model never saw in training."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Tuple

import pytest
from rasa.shared.nlu.training_data.loading import load_data

HELD_OUT = Path(__file__).resolve().parent / "nlu_heldout.yml"
DECLINED = {"out_of_scope", "nlu_fallback"}
MIN_IN_SCOPE_ACCURACY = 0.90
MIN_DECLINE_RATE = 0.80
MIN_SYMPTOM_RECALL = 0.85


@pytest.fixture(scope="module")
async def predictions(agent: Any) -> List[Tuple[str, str, str]]:
    """(text, expected intent, predicted intent) for every held-out question."""
    results = []
    for message in load_data(str(HELD_OUT)).intent_examples:
        parsed = await agent.parse_message(message.get("text"))
        results.append((message.get("text"), message.get("intent"), parsed["intent"]["name"]))
    return results


def share(hits: List[bool]) -> float:
    return sum(hits) / len(hits)


def report(name: str, rate: float, misses: List[Tuple[str, str, str]]) -> str:
    lines = [f"{name}: {rate:.1%}"] + [f"  {t!r}: expected {e}, got {p}" for t, e, p in misses]
    return "\n".join(lines)


def test_in_scope_questions_get_the_right_answer(
    predictions: List[Tuple[str, str, str]], record_property: Any
) -> None:
    in_scope = [p for p in predictions if p[1].startswith("faq_")]
    rate = share([expected == got for _, expected, got in in_scope])
    record_property("in_scope_accuracy", rate)
    print(f"\nheld-out in-scope accuracy: {rate:.1%} of {len(in_scope)}")
    misses = [p for p in in_scope if p[1] != p[2]]
    assert rate >= MIN_IN_SCOPE_ACCURACY, report("in-scope accuracy", rate, misses)


def test_out_of_scope_questions_are_declined(
    predictions: List[Tuple[str, str, str]], record_property: Any
) -> None:
    off_topic = [p for p in predictions if p[1] == "out_of_scope"]
    rate = share([got in DECLINED for _, _, got in off_topic])
    record_property("out_of_scope_decline_rate", rate)
    print(f"\nheld-out out-of-scope declined: {rate:.1%} of {len(off_topic)}")
    misses = [p for p in off_topic if p[2] not in DECLINED]
    assert rate >= MIN_DECLINE_RATE, report("decline rate", rate, misses)


def test_symptom_reports_are_recognised(predictions: List[Tuple[str, str, str]]) -> None:
    symptoms = [p for p in predictions if p[1] == "report_symptoms"]
    rate = share([got == "report_symptoms" for _, _, got in symptoms])
    print(f"\nheld-out symptom reports recognised: {rate:.1%} of {len(symptoms)}")
    misses = [p for p in symptoms if p[2] != "report_symptoms"]
    assert rate >= MIN_SYMPTOM_RECALL, report("symptom recall", rate, misses)


def test_chitchat_is_recognised(predictions: List[Tuple[str, str, str]]) -> None:
    others = {"out_of_scope", "report_symptoms"}
    chitchat = [p for p in predictions if not p[1].startswith("faq_") and p[1] not in others]
    rate = share([e == g for _, e, g in chitchat])
    print(f"\nheld-out chitchat recognised: {rate:.1%} of {len(chitchat)}")
    assert rate >= MIN_IN_SCOPE_ACCURACY, report(
        "chitchat", rate, [p for p in chitchat if p[1] != p[2]]
    )
