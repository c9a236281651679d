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
import copy
import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "hint3"
PUBLIC_SOURCE = "https://github.com/hellohaptik/HINT3 (dataset/v1, ODbL 1.0)"
BOTS = ("sofmattress", "curekart", "powerplay11")
OOS = "NO_NODES_DETECTED"
FALLBACK = "nlu_fallback"
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))
RASA_DEFAULT_CONFIG = "rasa/engine/recipes/config_files/default_config.yml"


@dataclass(frozen=True)
class Prediction:
    gold: str
    top: str  # the classifier's top intent (FallbackClassifier's entry skipped)
    confidence: float
    deployed: str  # what the pipeline as configured answers; OOS for nlu_fallback


def read_rows(path: Path) -> List[Tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["sentence"], row["label"]) for row in csv.DictReader(file)]


def pipeline_config(name: str, seed: int) -> Dict[str, Any]:
    """The NLU part of `ours` (config.yml) or `rasa default`, with a fixed DIET seed."""
    if name == "ours":
        config = yaml.safe_load((ROOT / "config.yml").read_text())
    else:
        import rasa

        default = Path(rasa.__file__).parent.parent / RASA_DEFAULT_CONFIG
        config = yaml.safe_load(default.read_text())
        # An NLU benchmark has no retrieval intents for the ResponseSelector.
        config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "ResponseSelector"]
    config = copy.deepcopy(config)
    config.pop("policies", None)
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["random_seed"] = seed
    return config


def train(rows: Sequence[Tuple[str, str]], config: Dict[str, Any], workdir: Path) -> str:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message(data={"text": text, "intent": label}) for text, label in rows])
    nlu_path, config_path = workdir / "nlu.yml", workdir / "config.yml"
    RasaYAMLWriter().dump(nlu_path, data)
    config_path.write_text(yaml.safe_dump(config))
    model = train_nlu(str(config_path), str(nlu_path), str(workdir / "models"), "model")
    if model is None:
        raise RuntimeError(f"training failed in {workdir}")
    return model


async def predict(model: str, rows: Sequence[Tuple[str, str]]) -> List[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    predictions = []
    for text, gold in rows:
        parsed = await agent.parse_message(text)
        ranking = [r for r in parsed["intent_ranking"] if r["name"] != FALLBACK]
        chosen = parsed["intent"]["name"]
        predictions.append(
            Prediction(
                gold=gold,
                top=ranking[0]["name"],
                confidence=float(ranking[0]["confidence"]),
                deployed=OOS if chosen == FALLBACK else chosen,
            )
        )
    return predictions


def scores(predictions: Sequence[Prediction], threshold: Optional[float]) -> Dict[str, float]:
    """The paper's metrics at `threshold`, or as deployed when it is None."""
    from sklearn.metrics import matthews_corrcoef

    def label(p: Prediction) -> str:
        if threshold is None:
            return p.deployed
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
        predictions = asyncio.run(predict(model, test_rows))
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
