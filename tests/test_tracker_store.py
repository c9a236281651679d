"""The cached SQL tracker store against a real SQLite file: every event is
written once, a conversation it wrote is read back without the database, and
whenever its copy may differ from the database (failed write, new session,
evicted) it reads the database again."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from tracker_stores.cached_sql import CachedSQLTrackerStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "conversations.db")


@pytest.fixture
def store(domain: Domain, database: str) -> CachedSQLTrackerStore:
    return CachedSQLTrackerStore(domain, dialect="sqlite", db=database)


class QueryCounter:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


def session_start() -> List[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]


def turn(text: str, intent: str) -> List[Event]:
    return [
        UserUttered(text, intent={"name": intent, "confidence": 0.9}),
        ActionExecuted("action_answer_faq"),
        BotUttered(f"answer to {text}"),
        SlotSet("last_topic", intent),
        ActionExecuted("action_listen"),
    ]


def add(tracker: DialogueStateTracker, events: List[Event]) -> None:
    for event in events:
        tracker.update(event)


def as_dicts(events: Iterator[Event]) -> List[dict]:
    return [event.as_dict() for event in events]


def latest_session(tracker: DialogueStateTracker) -> List[dict]:
    """The events as Rasa's SQL store reads them back: from the last SessionStarted on."""
    events = as_dicts(tracker.events)
    start = max(i for i, e in enumerate(events) if e["event"] == "session_started")
    return events[start:]


async def in_database(domain: Domain, database: str, sender: str) -> List[dict]:
    """The events Rasa's own SQL store reads back from the file."""
    tracker = await SQLTrackerStore(domain, dialect="sqlite", db=database).retrieve(sender)
    return as_dicts(tracker.events) if tracker else []


async def read_from_database(store: CachedSQLTrackerStore, sender: str) -> DialogueStateTracker:
    """The store's next read of a conversation, checked to have queried the database."""
    queries = QueryCounter(store.engine)
    tracker = await store.retrieve(sender)
    assert queries.count > 0
    assert tracker is not None
    return tracker


async def converse(store: CachedSQLTrackerStore, sender: str, turns: int) -> DialogueStateTracker:
    """A conversation of several turns, each read from the store and saved back, as Rasa does."""
    tracker = await store.get_or_create_tracker(sender)
    add(tracker, session_start())
    for n in range(turns):
        if n:
            read = await store.retrieve(sender)
            assert read is not None
            tracker = read
        add(tracker, turn(f"question {n}", "faq_pain"))
        await store.save(tracker)
    return tracker


async def test_every_event_is_written_once(
    store: CachedSQLTrackerStore, domain: Domain, database: str
) -> None:
    tracker = await converse(store, "ana", turns=4)
    assert [e.as_dict()["event"] for e in tracker.events].count("user") == 4
    assert await in_database(domain, database, "ana") == latest_session(tracker)


async def test_a_conversation_it_wrote_is_read_without_the_database(
    store: CachedSQLTrackerStore,
) -> None:
    tracker = await converse(store, "ana", turns=2)
    queries = QueryCounter(store.engine)
    again = await store.retrieve("ana")
    assert queries.count == 0
    assert again is not None and as_dicts(again.events) == as_dicts(tracker.events)
    assert again.get_slot("last_topic") == "faq_pain"


async def test_a_tracker_read_and_never_saved_is_read_from_the_database_next(
    store: CachedSQLTrackerStore,
) -> None:
    before = latest_session(await converse(store, "ana", turns=1))
    tracker = await store.retrieve("ana")
    assert tracker is not None
    add(tracker, turn("failed before the save", "faq_safety"))
    assert as_dicts((await read_from_database(store, "ana")).events) == before


async def test_a_turn_after_one_that_was_never_saved_is_stored_whole(
    store: CachedSQLTrackerStore, domain: Domain, database: str
) -> None:
    await converse(store, "ana", turns=1)
    assert await store.retrieve("ana") is not None  # read, and never saved
    tracker = await read_from_database(store, "ana")  # which counts events differently
    add(tracker, turn("next", "faq_safety"))
    await store.save(tracker)
    assert await in_database(domain, database, "ana") == latest_session(tracker)


async def test_a_saved_turn_writes_only_its_new_events(
    store: CachedSQLTrackerStore, domain: Domain, database: str
) -> None:
    await converse(store, "ana", turns=1)
    tracker = await store.retrieve("ana")
    assert tracker is not None
    queries = QueryCounter(store.engine)
    add(tracker, turn("next", "faq_safety"))
    await store.save(tracker)
    assert queries.count == 5  # one insert per new event; no count of the stored ones
    stored = await in_database(domain, database, "ana")
    assert [e["event"] for e in stored[-5:]] == ["user", "action", "bot", "slot", "action"]
    assert stored == latest_session(tracker)


async def test_a_failed_write_leaves_the_next_read_to_the_database(
    store: CachedSQLTrackerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = latest_session(await converse(store, "ana", turns=1))
    tracker = await store.retrieve("ana")
    assert tracker is not None
    add(tracker, turn("lost", "faq_safety"))

    def broken(*args: Any) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(sa.orm.Session, "commit", broken)
    with pytest.raises(sa.exc.OperationalError):
        await store.save(tracker)
    monkeypatch.undo()
    assert as_dicts((await read_from_database(store, "ana")).events) == before


async def test_a_new_session_is_read_from_the_database(
    store: CachedSQLTrackerStore, domain: Domain, database: str
) -> None:
    await converse(store, "ana", turns=2)
    tracker = await store.retrieve("ana")
    assert tracker is not None
    add(tracker, session_start() + turn("back again", "faq_pain"))
    await store.save(tracker)
    again = await read_from_database(store, "ana")
    assert as_dicts(again.events) == await in_database(domain, database, "ana")
    assert sum(isinstance(e, SessionStarted) for e in again.events) == 1


async def test_the_least_recently_used_conversation_is_dropped_first(
    domain: Domain, database: str
) -> None:
    store = CachedSQLTrackerStore(domain, cached_conversations=2, dialect="sqlite", db=database)
    for sender in ("ana", "ben", "cy"):
        await converse(store, sender, turns=1)
    queries = QueryCounter(store.engine)
    for sender in ("ben", "cy"):
        assert await store.retrieve(sender) is not None
    assert queries.count == 0
    assert await store.retrieve("ana") is not None
    assert queries.count > 0
