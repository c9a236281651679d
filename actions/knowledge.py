"""Loads and validates the curated knowledge file, the single home of what the bot says.

The file is read once; any problem stops the caller with a `KnowledgeError` that
names the file, the entry and the field, so a broken file never reaches a user.
Run `python -m actions.knowledge [PATH]` to check a file by hand.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

# KNOWLEDGE_FILE lets a deployment (or a test) point the actions at another file.
PROJECT_FILE = Path(__file__).resolve().parent.parent / "data" / "knowledge.yml"
DEFAULT_PATH = Path(os.environ.get("KNOWLEDGE_FILE", PROJECT_FILE))
FAQ_INTENT_PREFIX = "faq_"
FALLBACK_REPLY = "nlu_fallback"
DECLINE_REPLY = "out_of_scope"
SYMPTOMS_REPLY = "report_symptoms"
DID_YOU_MEAN_REPLY = "did_you_mean"
FEEDBACK_REPLY = "feedback_not_helpful"
# The parse-data key under which the NLU lists the questions of a message that
# asks several (components/multi_question.py), read by action_answer_faq.
QUESTIONS_KEY = "questions"
# Elliptical follow-ups ("how long?", "and after?", "is that normal?") are the
# intents follow_up_<aspect>; a topic's `follow_ups` says which topic each one
# means after it, and the reply follow_up_<aspect> asks when none is in play.
FOLLOW_UP_PREFIX = "follow_up_"
ASPECTS = ("how_long", "after", "is_normal")
CONCERN_FOLLOW_UP = "follow_up_concern"  # "and for stretch marks?"
RELATED_RANGE = (2, 3)


class KnowledgeError(ValueError):
    """The knowledge file is missing or malformed; the message says where."""

    def __init__(self, path: Path, entry: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: entry '{entry}', field '{field}': {problem}")


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    file: str


@dataclass(frozen=True)
class Answer:
    text: str
    sources: Tuple[Source, ...]


@dataclass(frozen=True)
class Topic:
    id: str
    question: str
    answer: str
    sources: Tuple[Source, ...]
    related: Tuple[str, ...]
    follow_ups: Mapping[str, str] = field(default_factory=dict)  # aspect -> topic id
    by_concern: Mapping[str, Answer] = field(default_factory=dict)  # concern -> answer

    @property
    def intent(self) -> str:
        return FAQ_INTENT_PREFIX + self.id

    def answer_for(self, concern: Optional[str]) -> Answer:
        """The answer specific to the skin concern in play, or the general one."""
        return self.by_concern.get(concern or "") or Answer(self.answer, self.sources)


@dataclass(frozen=True)
class Reply:
    """A reply's text and its topic buttons: `suggest`, offered under the topic
    prompt, or `choices`, the answers to a question the reply asks."""

    text: str
    suggest: Tuple[str, ...]
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedbackButtons:
    """Titles of the buttons under an answer: it helped, or it missed."""

    helpful: str
    not_helpful: str


@dataclass(frozen=True)
class KnowledgeBase:
    topics: Dict[str, Topic]
    replies: Dict[str, Reply]
    disclaimer: str
    topic_prompt: str
    something_else: str
    feedback: FeedbackButtons
    unavailable: str
    # Skin concerns (the `concern` entity's values) are topic ids; each has a name.
    concerns: Mapping[str, str] = field(default_factory=dict)
    # Says the topic in play has nothing specific on a concern, before that concern's topic.
    no_specific_answer: str = "{concern}"

    def topic_for_intent(self, intent: Optional[str]) -> Optional[Topic]:
        if not intent or not intent.startswith(FAQ_INTENT_PREFIX):
            return None
        return self.topics.get(intent[len(FAQ_INTENT_PREFIX) :])

    def has_topic(self, intent: str) -> bool:
        return self.topic_for_intent(intent) is not None

    def reply_for_intent(self, intent: Optional[str]) -> Reply:
        """The canned reply for a non-FAQ intent; unknown intents get the fallback."""
        return self.replies.get(intent or "", self.replies[FALLBACK_REPLY])


class _Reader:
    """Checks one parsed file; every complaint carries the file path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, entry: str, field: str, problem: str) -> KnowledgeError:
        return KnowledgeError(self.path, entry, field, problem)

    def mapping(self, value: Any, entry: str, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(entry, field, "expected a mapping")
        return value

    def fields(
        self, item: Any, entry: str, required: Tuple[str, ...], optional: Tuple[str, ...] = ()
    ) -> Mapping[str, Any]:
        data = self.mapping(item, entry, "*")
        for name in required:
            if name not in data:
                raise self.fail(entry, name, "missing")
        unknown = set(data) - set(required) - set(optional)
        if unknown:
            raise self.fail(entry, sorted(unknown)[0], "unknown field (typo?)")
        return data

    def text(self, data: Mapping[str, Any], entry: str, field: str) -> str:
        value = data[field]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entry, field, "expected non-empty text")
        return " ".join(value.split())

    def id_map(self, data: Mapping[str, Any], entry: str, field: str) -> Mapping[str, Any]:
        value = data.get(field, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail(entry, field, "expected a mapping keyed by id")
        return value

    def ids(self, data: Mapping[str, Any], entry: str, field: str) -> List[str]:
        value = data.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(entry, field, "expected a list of ids")
        return value

    def entries(self, document: Mapping[str, Any], section: str) -> List[Any]:
        value = document[section]
        if not isinstance(value, list) or not value:
            raise self.fail(section, "*", "expected a non-empty list")
        return value

    def entry_id(self, item: Any, section: str, index: int, seen: Mapping[str, Any]) -> str:
        data = self.mapping(item, f"{section}[{index}]", "*")
        entry_id = data.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            raise self.fail(f"{section}[{index}]", "id", "missing or empty")
        if entry_id in seen:
            raise self.fail(entry_id, "id", f"duplicate id in '{section}'")
        return entry_id


def parse_knowledge(raw: Any, path: Path) -> KnowledgeBase:
    """Validates an already-parsed YAML document and builds the knowledge base."""
    reader = _Reader(path)
    document = reader.fields(
        raw,
        "file",
        (
            "sources",
            "topics",
            "replies",
            "disclaimer",
            "topic_prompt",
            "something_else",
            "feedback",
            "unavailable",
            "concerns",
            "no_specific_answer",
        ),
    )

    sources: Dict[str, Source] = {}
    for index, item in enumerate(reader.entries(document, "sources")):
        source_id = reader.entry_id(item, "sources", index, sources)
        data = reader.fields(item, source_id, ("id", "title", "file"))
        sources[source_id] = Source(
            source_id, reader.text(data, source_id, "title"), reader.text(data, source_id, "file")
        )

    topics: Dict[str, Topic] = {}
    for index, item in enumerate(reader.entries(document, "topics")):
        topic_id = reader.entry_id(item, "topics", index, topics)
        data = reader.fields(
            item,
            topic_id,
            ("id", "question", "answer", "sources", "related"),
            ("follow_ups", "by_concern"),
        )
        by_concern = {}
        for concern, variant in reader.id_map(data, topic_id, "by_concern").items():
            entry = f"{topic_id}.by_concern.{concern}"
            fields = reader.fields(variant, entry, ("answer", "sources"))
            by_concern[concern] = Answer(
                reader.text(fields, entry, "answer"), cited(reader, sources, fields, entry)
            )
        topics[topic_id] = Topic(
            id=topic_id,
            question=reader.text(data, topic_id, "question"),
            answer=reader.text(data, topic_id, "answer"),
            sources=cited(reader, sources, data, topic_id),
            related=tuple(reader.ids(data, topic_id, "related")),
            follow_ups=dict(reader.id_map(data, topic_id, "follow_ups")),
            by_concern=by_concern,
        )

    concerns: Dict[str, str] = {}
    for concern, name in reader.id_map(document, "file", "concerns").items():
        if concern not in topics:
            raise reader.fail("concerns", concern, "not a topic id")
        concerns[concern] = reader.text({"name": name}, f"concerns.{concern}", "name")

    low, high = RELATED_RANGE
    for topic in topics.values():
        if not low <= len(set(topic.related)) == len(topic.related) <= high:
            raise reader.fail(topic.id, "related", f"expected {low} to {high} different topic ids")
        for related_id in topic.related:
            if related_id not in topics or related_id == topic.id:
                raise reader.fail(topic.id, "related", f"unknown topic id '{related_id}'")
        for aspect, target in topic.follow_ups.items():
            if aspect not in ASPECTS:
                raise reader.fail(topic.id, "follow_ups", f"unknown aspect '{aspect}'")
            if target not in topics:
                raise reader.fail(topic.id, "follow_ups", f"unknown topic id '{target}'")
        for concern in topic.by_concern:
            if concern not in concerns:
                raise reader.fail(topic.id, "by_concern", f"unknown concern '{concern}'")

    replies: Dict[str, Reply] = {}
    for intent, item in reader.mapping(document["replies"], "replies", "*").items():
        entry = f"replies.{intent}"
        data = reader.fields(item, entry, ("text",), ("suggest", "choices"))
        if "suggest" in data and "choices" in data:
            raise reader.fail(entry, "choices", "a reply has suggest or choices, not both")
        buttons = {kind: reader.ids(data, entry, kind) for kind in ("suggest", "choices")}
        for kind, topic_ids in buttons.items():
            for topic_id in topic_ids:
                if topic_id not in topics:
                    raise reader.fail(entry, kind, f"unknown topic id '{topic_id}'")
        text = reader.text(data, entry, "text")
        replies[intent] = Reply(text, tuple(buttons["suggest"]), tuple(buttons["choices"]))
    clarifying = [FOLLOW_UP_PREFIX + aspect for aspect in ASPECTS]
    for required in [
        FALLBACK_REPLY,
        DID_YOU_MEAN_REPLY,
        SYMPTOMS_REPLY,
        FEEDBACK_REPLY,
        *clarifying,
    ]:
        if required not in replies:
            raise reader.fail("replies", required, "missing")

    feedback = reader.fields(document["feedback"], "feedback", ("helpful", "not_helpful"))
    return KnowledgeBase(
        topics,
        replies,
        disclaimer=reader.text(document, "file", "disclaimer"),
        topic_prompt=reader.text(document, "file", "topic_prompt"),
        something_else=reader.text(document, "file", "something_else"),
        feedback=FeedbackButtons(
            helpful=reader.text(feedback, "feedback", "helpful"),
            not_helpful=reader.text(feedback, "feedback", "not_helpful"),
        ),
        unavailable=reader.text(document, "file", "unavailable"),
        concerns=concerns,
        no_specific_answer=no_specific_answer(reader, document),
    )


def cited(
    reader: _Reader, sources: Mapping[str, Source], data: Mapping[str, Any], entry: str
) -> Tuple[Source, ...]:
    """The sources an answer names: at least one, each declared under `sources`."""
    source_ids = reader.ids(data, entry, "sources")
    if not source_ids:
        raise reader.fail(entry, "sources", "name at least one source")
    for source_id in source_ids:
        if source_id not in sources:
            raise reader.fail(entry, "sources", f"unknown source id '{source_id}'")
    return tuple(sources[s] for s in source_ids)


def no_specific_answer(reader: _Reader, document: Mapping[str, Any]) -> str:
    text = reader.text(document, "file", "no_specific_answer")
    if "{concern}" not in text:
        raise reader.fail("file", "no_specific_answer", "must contain {concern}")
    return text


def load_knowledge(path: Path = DEFAULT_PATH) -> KnowledgeBase:
    """Reads and validates a knowledge file, raising `KnowledgeError` on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KnowledgeError(path, "file", "*", f"cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise KnowledgeError(path, "file", "*", f"not valid YAML: {error}") from error
    return parse_knowledge(raw, path)


@lru_cache(maxsize=None)
def default_knowledge() -> KnowledgeBase:
    """The project's knowledge file, loaded once per process."""
    return load_knowledge()


if __name__ == "__main__":
    checked = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    try:
        knowledge = load_knowledge(checked)
    except KnowledgeError as error:
        sys.exit(f"Knowledge file is broken: {error}")
    print(f"{checked}: {len(knowledge.topics)} topics, {len(knowledge.replies)} replies, valid")
