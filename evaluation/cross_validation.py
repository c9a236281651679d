"""k-fold cross-validation over the assistant's training data, and the fallback
thresholds chosen on it: the held-out questions stay a test set, never a tuning set."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

from evaluation.heldout import DECLINED, FAQ_PREFIX, SYMPTOMS, safety_net_warns
from evaluation.training import FALLBACK, ROOT, Ranked, Row, pipeline_config, rank, train

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(4, 17))  # 0.2-0.8
AMBIGUITIES = (0.0, 0.05, 0.1, 0.15, 0.2)
GUESS_FLOORS = (0.03, 0.05, 0.08, 0.1, 0.15)
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Fallback:
    """FallbackClassifier's two settings."""

    threshold: float
    ambiguity: float

    def decide(self, ranked: Ranked) -> str:
        if ranked.confidence < self.threshold or ranked.margin < self.ambiguity:
            return FALLBACK
        return ranked.top


def training_rows() -> List[Row]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(ROOT / "data" / "nlu")).intent_examples
    return [(e.get("text"), e.get("intent")) for e in examples]


def cross_validate(rows: Sequence[Row], folds: int, seed: int) -> List[Ranked]:
    """Every example ranked by a model trained on the other folds (stratified, seeded)."""
    from sklearn.model_selection import StratifiedKFold

    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    config = pipeline_config("ours", seed)
    ranked: List[Ranked] = []
    for train_index, test_index in split.split(rows, [label for _, label in rows]):
        with tempfile.TemporaryDirectory(prefix="cv-") as workdir:
            model = train([rows[i] for i in train_index], config, Path(workdir))
            ranked += asyncio.run(rank(model, [rows[i] for i in test_index]))
    return ranked


def rates(ranked: Sequence[Ranked], fallback: Fallback) -> Dict[str, float]:
    """In-scope questions answered right, out-of-scope ones declined, and their mean."""
    in_scope = [fallback.decide(r) == r.gold for r in ranked if r.gold.startswith(FAQ_PREFIX)]
    declined = [fallback.decide(r) in DECLINED for r in ranked if r.gold == OUT_OF_SCOPE]
    result = {
        "in_scope": sum(in_scope) / len(in_scope),
        "oos_declined": sum(declined) / len(declined),
    }
    result["balanced"] = (result["in_scope"] + result["oos_declined"]) / 2
    return result


def symptom_reports(ranked: Sequence[Ranked], fallback: Fallback) -> Dict[str, int]:
    """Symptom reports the classifier catches, those the action's safety net adds
    (unsure, with a symptom report among the top guesses), and its false alarms."""

    def netted(r: Ranked) -> bool:
        return safety_net_warns(fallback.decide(r), r)

    reports = [r for r in ranked if r.gold == SYMPTOMS]
    return {
        "reports": len(reports),
        "classified": sum(fallback.decide(r) == SYMPTOMS for r in reports),
        "safety_net": sum(netted(r) for r in reports),
        "false_alarms": sum(netted(r) for r in ranked if r.gold != SYMPTOMS),
    }


def choose(ranked: Sequence[Ranked]) -> Fallback:
    """The settings with the best balance of answering and declining; on a tie, the
    stricter threshold (a wrong answer costs a user more than a "did you mean")."""
    grid = [Fallback(t, a) for t, a in itertools.product(THRESHOLDS, AMBIGUITIES)]
    return max(grid, key=lambda f: (round(rates(ranked, f)["balanced"], 4), f.threshold))


def offered_topics(ranked: Ranked, floor: float) -> List[str]:
    """The topics "did you mean" offers (as `action_reply` picks them), or none."""
    from actions.actions import offered_intents

    return offered_intents(ranked.ranking, lambda intent: intent.startswith(FAQ_PREFIX), floor)


def did_you_mean(ranked: Sequence[Ranked], fallback: Fallback, floor: float) -> Dict[str, int]:
    """Among the unsure messages: in-scope ones whose right topic is offered, and
    out-of-scope ones that are offered topics instead of the plain decline."""
    unsure = [r for r in ranked if fallback.decide(r) == FALLBACK]
    in_scope = [r for r in unsure if r.gold.startswith(FAQ_PREFIX)]
    declined = [r for r in unsure if r.gold == OUT_OF_SCOPE]
    return {
        "in_scope": len(in_scope),
        "right_topic_offered": sum(r.gold in offered_topics(r, floor) for r in in_scope),
        "out_of_scope": len(declined),
        "offered_to_out_of_scope": sum(bool(offered_topics(r, floor)) for r in declined),
    }


def choose_guess_floor(ranked: Sequence[Ranked], fallback: Fallback) -> float:
    """The floor that helps most: right topics offered minus needless offers."""

    def benefit(floor: float) -> int:
        counts = did_you_mean(ranked, fallback, floor)
        return counts["right_topic_offered"] - counts["offered_to_out_of_scope"]

    return max(GUESS_FLOORS, key=lambda floor: (benefit(floor), floor))
