"""Ties the pieces together: every knowledge topic has its intent, training
examples, domain entry and rule, and the held-out questions stay out of training.
A failure names the piece that is missing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import pytest
import yaml
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.loading import load_data

from actions.knowledge import (
    ASPECTS,
    CONCERN_FOLLOW_UP,
    FAQ_INTENT_PREFIX,
    FOLLOW_UP_PREFIX,
    load_knowledge,
)

ROOT = Path(__file__).resolve().parent.parent
MIN_EXAMPLES = 20
KNOWLEDGE = load_knowledge()
FAQ_INTENTS = {topic.intent for topic in KNOWLEDGE.topics.values()}
FOLLOW_UP_INTENTS = {FOLLOW_UP_PREFIX + aspect for aspect in ASPECTS} | {CONCERN_FOLLOW_UP}


def examples_by_intent(path: Path) -> Dict[str, List[str]]:
    examples: Dict[str, List[str]] = {}
    for message in load_data(str(path)).intent_examples:
        examples.setdefault(message.get("intent"), []).append(message.get("text"))
    return examples


NLU_DATA = load_data(str(ROOT / "data" / "nlu"))
TRAINING = examples_by_intent(ROOT / "data" / "nlu")
HELD_OUT = examples_by_intent(ROOT / "tests" / "nlu_heldout.yml")
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
# The assistant's own intents, without Rasa's built-ins (restart, session_start, ...).
INTENTS = set(DOMAIN.intents) - (set(DEFAULT_INTENTS) - set(TRAINING))


def rule_intents(action: str) -> Set[str]:
    """The intents that the rules answer with `action`."""
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    intents: Set[str] = set()
    for rule in rules:
        steps = rule["steps"]
        if steps[-1] == {"action": action}:
            for step in steps[:-1]:
                intents |= {s["intent"] for s in step.get("or", [step]) if "intent" in s}
    return intents


@pytest.mark.parametrize("intent", sorted(FAQ_INTENTS))
def test_every_topic_has_enough_training_examples(intent: str) -> None:
    count = len(TRAINING.get(intent, []))
    assert count >= MIN_EXAMPLES, f"{intent}: {count} examples in data/nlu, need {MIN_EXAMPLES}"


def test_every_faq_intent_has_a_knowledge_entry() -> None:
    trained = {i for i in TRAINING if i.startswith(FAQ_INTENT_PREFIX)}
    declared = {i for i in INTENTS if i.startswith(FAQ_INTENT_PREFIX)}
    assert trained - FAQ_INTENTS == set(), "trained but no entry in data/knowledge.yml"
    assert declared - FAQ_INTENTS == set(), "in domain.yml but no entry in data/knowledge.yml"


def test_every_topic_is_declared_in_the_domain() -> None:
    assert FAQ_INTENTS - INTENTS == set(), "add these intents to domain.yml"


def test_every_topic_and_follow_up_is_answered_by_the_faq_rule() -> None:
    expected = FAQ_INTENTS | FOLLOW_UP_INTENTS
    assert rule_intents("action_answer_faq") == expected, "see the FAQ rule in data/rules.yml"


def test_every_follow_up_is_declared_and_trained() -> None:
    assert FOLLOW_UP_INTENTS - INTENTS == set(), "add these intents to domain.yml"
    assert [i for i in FOLLOW_UP_INTENTS if len(TRAINING.get(i, [])) < 10] == []


def named_by(lookup: str) -> Dict[str, str]:
    """Each word of a lookup table and the value the entity synonyms turn it into."""
    (table,) = [t for t in NLU_DATA.lookup_tables if t["name"] == lookup]
    return {w: NLU_DATA.entity_synonyms.get(w.lower(), w) for w in table["elements"]}


def test_every_skin_concern_is_found_and_named_by_its_topic_id() -> None:
    """The lookup table finds a concern's words; the synonyms turn each into the
    topic id that data/knowledge.yml lists under `concerns`."""
    names = named_by("concern")
    unnamed = [w for w, name in names.items() if name not in KNOWLEDGE.concerns]
    assert unnamed == [], "give these a synonym in data/nlu/concerns.yml"
    found = set(names.values())
    assert set(KNOWLEDGE.concerns) - found == set(), "add words for these to the lookup table"


def test_every_health_condition_is_found_and_named_by_a_topic_id() -> None:
    """The lookup table finds a condition's words; the synonyms turn each into the
    topic that covers it, which replies that cannot answer offer first."""
    unnamed = [w for w, name in named_by("condition").items() if name not in KNOWLEDGE.topics]
    assert unnamed == [], "give these a synonym in data/nlu/conditions.yml"


def test_every_lookup_table_has_an_annotated_example() -> None:
    """Rasa's RegexEntityExtractor uses a lookup table only for an entity that some
    training example annotates; without one the table is silently ignored."""
    annotated = {e["entity"] for m in NLU_DATA.entity_examples for e in m.get("entities")}
    unused = {t["name"] for t in NLU_DATA.lookup_tables} - annotated
    assert unused == set(), "annotate an example of these, e.g. [word](entity)"


def test_every_other_intent_has_a_rule_and_a_reply() -> None:
    others = INTENTS - FAQ_INTENTS - FOLLOW_UP_INTENTS
    assert rule_intents("action_reply") == others | {"nlu_fallback"}
    missing = (others | {"nlu_fallback"}) - set(KNOWLEDGE.replies)
    assert missing == set(), "add these replies to data/knowledge.yml"


def test_chitchat_out_of_scope_and_symptoms_are_trained() -> None:
    for intent in INTENTS - FAQ_INTENTS:
        assert len(TRAINING.get(intent, [])) >= 10, intent


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_held_out_questions_are_not_in_the_training_data() -> None:
    trained = {normalise(t) for texts in TRAINING.values() for t in texts}
    leaked = [t for texts in HELD_OUT.values() for t in texts if normalise(t) in trained]
    assert leaked == []
    several = yaml.safe_load((ROOT / "tests" / "multi_questions.yml").read_text())["messages"]
    assert [m["text"] for m in several if normalise(m["text"]) in trained] == []


def test_held_out_set_covers_every_topic_and_out_of_scope() -> None:
    counts = Counter({intent: len(texts) for intent, texts in HELD_OUT.items()})
    assert sum(counts.values()) >= 80
    assert counts["out_of_scope"] >= 30
    assert [i for i in FAQ_INTENTS if counts[i] < 2] == []


def test_no_training_example_is_given_two_intents() -> None:
    seen: Dict[str, str] = {}
    clashes = []
    for intent, texts in TRAINING.items():
        for text in texts:
            key = normalise(text)
            if seen.setdefault(key, intent) != intent:
                clashes.append((text, seen[key], intent))
    assert clashes == []
