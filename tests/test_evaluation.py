"""The evaluation's bookkeeping, on hand-made rankings: `make eval` runs it
for real, but too slowly for `make test`."""

from __future__ import annotations

from evaluation.cross_validation import Fallback, did_you_mean, rates, symptom_reports
from evaluation.heldout import Outcome
from evaluation.training import FALLBACK, Ranked

STRICT = Fallback(threshold=0.5, ambiguity=0.0)


def ranked(gold: str, *ranking: tuple) -> Ranked:
    chosen = ranking[0][0] if ranking[0][1] >= STRICT.threshold else FALLBACK
    return Ranked(gold=gold, chosen=chosen, ranking=tuple(ranking))


SURE_RIGHT = ranked("faq_pain", ("faq_pain", 0.9), ("faq_cost", 0.05))
UNSURE_TOPICS = ranked("faq_pain", ("faq_risks", 0.3), ("faq_pain", 0.2), ("faq_cost", 0.1))
UNSURE_ONE_TOPIC = ranked("out_of_scope", ("faq_risks", 0.4), ("out_of_scope", 0.3))
SURE_DECLINE = ranked("out_of_scope", ("out_of_scope", 0.8), ("faq_pain", 0.1))
SYMPTOM_SECOND = ranked("report_symptoms", ("faq_risks", 0.4), ("report_symptoms", 0.3))
SYMPTOM_THIRD = ranked("faq_risks", ("faq_risks", 0.4), ("faq_pain", 0.3), ("report_symptoms", 0.2))


def test_rates_count_answers_and_declines() -> None:
    result = rates([SURE_RIGHT, UNSURE_TOPICS, UNSURE_ONE_TOPIC, SURE_DECLINE], STRICT)
    assert result == {"in_scope": 0.5, "oos_declined": 1.0, "balanced": 0.75}


def test_did_you_mean_offers_topics_only_when_two_are_likely() -> None:
    counts = did_you_mean([UNSURE_TOPICS, UNSURE_ONE_TOPIC], STRICT, floor=0.15)
    assert counts == {
        "in_scope": 1,
        "right_topic_offered": 1,
        "out_of_scope": 1,
        "offered_to_out_of_scope": 0,
    }
    above_floor = did_you_mean([UNSURE_TOPICS], STRICT, floor=0.25)
    assert above_floor["right_topic_offered"] == 0


def test_symptom_safety_net_looks_at_the_top_two_guesses() -> None:
    counts = symptom_reports([SYMPTOM_SECOND, SYMPTOM_THIRD, SURE_RIGHT], STRICT)
    assert counts == {"reports": 1, "classified": 0, "safety_net": 1, "false_alarms": 0}


def test_a_held_out_symptom_report_counts_when_the_user_gets_the_doctor_reply() -> None:
    def outcome(predicted: str, warned: bool) -> Outcome:
        return Outcome("my face still hurts", "report_symptoms", predicted, 0.2, warned=warned)

    assert outcome("report_symptoms", warned=False).correct
    assert outcome(FALLBACK, warned=True).correct  # the safety net's reply
    assert not outcome(FALLBACK, warned=False).correct  # "did you mean"
    assert not outcome("faq_pain", warned=False).correct
