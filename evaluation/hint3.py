"""The HINT3 intent-detection benchmark (Arora et al., 2020) for a Rasa pipeline.

Trains the project's NLU pipeline and, as the baseline, Rasa's default pipeline
(the one a `rasa init` project trains with) on each bot's training set, then
scores the test set with the paper's protocol: a top intent whose confidence is
below the threshold counts as out of scope (`NO_NODES_DETECTED`); accuracy,
in-scope accuracy, out-of-scope recall and MCC at thresholds 0.1-0.9, plus
"as deployed" (each pipeline's own FallbackClassifier decides, no threshold
chosen on the test set). The data is read from outside the project and never
copied into it.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from evaluation.training import FALLBACK, ROOT, Ranked, Row, pipeline_config, rank, train

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "hint3"
PUBLIC_SOURCE = "https://github.com/hellohaptik/HINT3 (dataset/v1, ODbL 1.0)"
BOTS = ("sofmattress", "curekart", "powerplay11")
OOS = "NO_NODES_DETECTED"
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))


def read_rows(path: Path) -> List[Row]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["sentence"], row["label"]) for row in csv.DictReader(file)]


def scores(predictions: Sequence[Ranked], threshold: Optional[float]) -> Dict[str, float]:
    """The paper's metrics at `threshold`, or as deployed (the pipeline's own
    FallbackClassifier decides) when it is None."""
    from sklearn.metrics import matthews_corrcoef

    def label(p: Ranked) -> str:
        if threshold is None:
            return OOS if p.chosen == FALLBACK else p.chosen
        return p.top if p.confidence >= threshold else OOS

    gold = [p.gold for p in predictions]
    predicted = [label(p) for p in predictions]
    pairs = list(zip(gold, predicted))
    in_scope = [g == p for g, p in pairs if g != OOS]
    oos = [p == OOS for g, p in pairs if g == OOS]
    return {
        "accuracy": sum(g == p for g, p in pairs) / len(pairs),
        "in_scope": sum(in_scope) / max(len(in_scope), 1),
        "oos_recall": sum(oos) / max(len(oos), 1),
        "mcc": float(matthews_corrcoef(gold, predicted)),
    }


def evaluate(data: Path, bot: str, pipeline: str, seed: int) -> Dict[str, Any]:
    """Trains one pipeline on one bot with one seed; returns its score sheet."""
    train_rows = read_rows(data / "v1" / "train" / f"{bot}_train.csv")
    test_rows = read_rows(data / "v1" / "test" / f"{bot}_test.csv")
    with tempfile.TemporaryDirectory(prefix=f"hint3-{bot}-") as workdir:
        model = train(train_rows, pipeline_config(pipeline, seed), Path(workdir))
        predictions = asyncio.run(rank(model, test_rows))
    by_threshold = {t: scores(predictions, t) for t in THRESHOLDS}
    best = max(THRESHOLDS, key=lambda t: by_threshold[t]["mcc"])
    return {
        "bot": bot,
        "pipeline": pipeline,
        "seed": seed,
        "thresholds": by_threshold,
        "best_threshold": best,
        "best": by_threshold[best],
        "deployed": scores(predictions, None),
    }
