"""Rasa's Redis lock store, made safe for several replicas.

Rasa 3.6's `RedisLockStore` changes a conversation's lock by reading it, changing
it and writing it back in separate calls. Two replicas taking tickets for one
conversation at once can both get the same number and handle two messages
together, and the later save drops one message's events without an error
(tests/test_scale.py saw it). Maintainers called the ticket issue "far from
atomic" (RasaHQ/rasa#3933); the fix (#11256) went to Rasa Pro only. Here each
read-change-write of a lock runs under a short Redis mutex of its own.
"""

from __future__ import annotations

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

# Longer than any read-change-write takes; a replica that dies holding the
# mutex blocks that conversation's lock for at most this long.
MUTEX_SECONDS = 5


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Rasa hands a custom lock store only its endpoint configuration.
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _mutex(self, conversation_id: str):  # type: ignore[no-untyped-def]
        # Outside key_prefix, where any sender id makes a lock key.
        name = f"mutex:{self.key_prefix}{conversation_id}"
        return self.red.lock(name, timeout=MUTEX_SECONDS, blocking_timeout=MUTEX_SECONDS)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            ticket: int = super().issue_ticket(conversation_id, lock_lifetime)
            return ticket

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Whole, so that no ticket is issued between "nobody waits" and the delete.
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
