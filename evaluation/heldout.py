"""Scores the trained assistant on the held-out questions (tests/nlu_heldout.yml)
and on messages that ask several questions (tests/multi_questions.yml): written
as users type, never in the training data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

import yaml

from evaluation.training import FALLBACK, Ranked, rank_with

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests" / "nlu_heldout.yml"
MULTI_QUESTIONS = ROOT / "tests" / "multi_questions.yml"
DECLINED = frozenset({"out_of_scope", FALLBACK})
SYMPTOMS = "report_symptoms"
FAQ_PREFIX = "faq_"


@dataclass(frozen=True)
class Outcome:
    text: str
    expected: str
    predicted: str  # after the FallbackClassifier: may be nlu_fallback
    confidence: float  # of the classifier's top intent
    answered: Tuple[str, ...] = ()  # the intents answered, in order
    # Unsure, but the action's safety net gives the "contact your doctor" reply.
    warned: bool = False

    @property
    def correct(self) -> bool:
        if self.expected == "out_of_scope":
            return self.predicted in DECLINED
        if self.expected == SYMPTOMS:
            return self.predicted == SYMPTOMS or self.warned
        return self.predicted == self.expected

    @property
    def answered_once(self) -> bool:
        """Not taken for several questions."""
        return len(self.answered) == 1


@dataclass(frozen=True)
class MultiOutcome:
    text: str
    expected: Tuple[str, ...]  # the intents asked, in order
    answered: Tuple[str, ...]

    @property
    def correct(self) -> bool:
        """Every question answered, in the order asked, and nothing else."""
        return self.answered == self.expected

    @property
    def predicted(self) -> str:
        return " + ".join(self.answered)


async def predict(agent: Any, path: Path = HELD_OUT) -> List[Outcome]:
    from rasa.shared.nlu.training_data.loading import load_data

    rows = [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]
    return [
        Outcome(
            text=text,
            expected=r.gold,
            predicted=r.chosen,
            confidence=r.confidence,
            answered=r.answered,
            warned=safety_net_warns(r.chosen, r),
        )
        for (text, _), r in zip(rows, await rank_with(agent, rows))
    ]


async def predict_multi(agent: Any, path: Path = MULTI_QUESTIONS) -> List[MultiOutcome]:
    messages = yaml.safe_load(path.read_text())["messages"]
    rows = [(m["text"], "+".join(m["intents"])) for m in messages]
    return [
        MultiOutcome(text=text, expected=tuple(gold.split("+")), answered=r.answered)
        for (text, gold), r in zip(rows, await rank_with(agent, rows))
    ]


def safety_net_warns(decision: str, ranked: Ranked) -> bool:
    """Whether the action answers with "contact your doctor" though the classifier
    was unsure (`decision` is the fallback): a symptom report among its top guesses."""
    from actions.actions import may_report_symptoms

    return decision == FALLBACK and may_report_symptoms(list(ranked.ranking))


def in_scope(outcomes: Sequence[Outcome]) -> List[Outcome]:
    return [o for o in outcomes if o.expected.startswith(FAQ_PREFIX)]


def of_intent(outcomes: Sequence[Outcome], intent: str) -> List[Outcome]:
    return [o for o in outcomes if o.expected == intent]


def chitchat(outcomes: Sequence[Outcome]) -> List[Outcome]:
    others = {"out_of_scope", "report_symptoms"}
    return [
        o for o in outcomes if not o.expected.startswith(FAQ_PREFIX) and o.expected not in others
    ]


def rate(outcomes: Sequence[Union[Outcome, MultiOutcome]]) -> float:
    return sum(o.correct for o in outcomes) / len(outcomes)


def per_intent(outcomes: Sequence[Outcome]) -> Dict[str, float]:
    groups: Dict[str, List[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.expected].append(outcome)
    return {intent: rate(group) for intent, group in sorted(groups.items())}
