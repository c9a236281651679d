"""Rasa's SQL tracker store, with the conversations in play also kept in memory.

Every message makes Rasa read its conversation back from the database (a query
and an ORM object per event) and count the stored events before it writes the
new ones: 21 % of our Rasa server's time under a 20-user load (py-spy). This
store writes every event to the database as Rasa's does (a restarted server
continues the conversation from it), but keeps the tracker it last saved and
hands that same object to the next read: no query, and no rebuilding the
tracker from serialised events, as Rasa's in-memory store does on every read
(12 % of the server's time when this store did it too). A handed-out tracker
is not handed out again until it is saved, so one that was changed and never
saved (a failed message) is read from the database next time, and its new
events are then counted there when saved, as Rasa's store does; Rasa's lock
store already keeps two messages of one conversation from being handled at
once.

It is for one Rasa process per database: replicas sharing a database
(deploy/endpoints.yml) use Rasa's own store, since another replica may have
added to a conversation since.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice
from typing import Any, Iterator, Optional, Tuple

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

# Conversations kept, the least recently used dropped first. A tracker holds
# about 17 KB per message (tracemalloc over the benchmark's conversations), so
# 200 ten-message conversations hold about 34 MB; an evicted one is read from
# the database again.
CACHED_CONVERSATIONS = 200


class CachedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore that also keeps the conversations it wrote."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        cached_conversations: int = CACHED_CONVERSATIONS,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, **kwargs)
        self.cached_conversations = cached_conversations
        # sender id -> (the tracker last saved, or None while it is handed out;
        # how many of its events are stored)
        self._cached: OrderedDict[str, Tuple[Optional[DialogueStateTracker], int]] = OrderedDict()

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        tracker, stored = self._cached.get(sender_id, (None, 0))
        if tracker is None:
            # Read from the database, which starts at the latest session: its
            # events are counted there when saved, not by the count kept here.
            self._cached.pop(sender_id, None)
            return await super().retrieve(sender_id)
        self._cached[sender_id] = (None, stored)
        self._cached.move_to_end(sender_id)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)
        finally:
            # Replaced below; if the write failed, the next read goes to the database.
            self._cached.pop(tracker.sender_id, None)
        # Rasa reads back only the latest session: a tracker that still holds
        # the one before is not kept, and the next read goes to the database.
        if sum(isinstance(event, SessionStarted) for event in tracker.events) > 1:
            return
        self._cached[tracker.sender_id] = (tracker, len(tracker.events))
        while len(self._cached) > self.cached_conversations:
            self._cached.popitem(last=False)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The events not yet stored: counted in the database unless this store wrote them."""
        cached = self._cached.get(tracker.sender_id)
        if cached is None:
            new_events: Iterator[Event] = super()._additional_events(session, tracker)
            return new_events
        return islice(tracker.events, cached[1], None)
