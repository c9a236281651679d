"""Trains an NLU pipeline on (text, intent) rows in a scratch folder and ranks
messages with it: the shared step of the benchmark and the cross-validation."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
RASA_DEFAULT_CONFIG = "rasa/engine/recipes/config_files/default_config.yml"
FALLBACK = "nlu_fallback"
Row = Tuple[str, str]


@dataclass(frozen=True)
class Ranked:
    gold: str
    chosen: str  # what the pipeline as configured decides: may be nlu_fallback
    ranking: Tuple[Tuple[str, float], ...]  # the classifier's, FallbackClassifier's entry left out
    answered: Tuple[str, ...] = ()  # the intents answered, in order: several for several questions

    @property
    def top(self) -> str:
        return self.ranking[0][0]

    @property
    def confidence(self) -> float:
        return self.ranking[0][1]

    @property
    def margin(self) -> float:
        """How far the top intent leads the runner-up."""
        return self.confidence - (self.ranking[1][1] if len(self.ranking) > 1 else 0.0)


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
        if component["name"].endswith("DIETClassifier"):  # ours is a subclass
            component["random_seed"] = seed
    return config


def train(rows: Sequence[Row], config: Dict[str, Any], workdir: Path) -> str:
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


async def rank(model: str, rows: Sequence[Row]) -> List[Ranked]:
    from rasa.core.agent import Agent

    return await rank_with(Agent.load(model), rows)


async def rank_with(agent: Any, rows: Sequence[Row]) -> List[Ranked]:
    """Each row's text parsed by a loaded Agent, with the gold intent alongside."""
    from actions.actions import asked_intents, classifier_guesses, resolve_parts
    from actions.knowledge import default_knowledge

    knowledge = default_knowledge()

    ranked = []
    for text, gold in rows:
        parsed = await agent.parse_message(text)
        chosen = parsed["intent"]["name"]
        ranking = tuple(classifier_guesses(parsed))
        answered = tuple(resolve_parts(knowledge, asked_intents(parsed) or [chosen], None))
        ranked.append(Ranked(gold=gold, chosen=chosen, ranking=ranking, answered=answered))
    return ranked
