"""A bounded load on loopback: users send their questions one after another,
all users at once; every reply's latency is kept. Each user starts a new
conversation (sender id) every VISIT messages, as real visitors do."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Sequence

import aiohttp

VISIT = 10


@dataclass(frozen=True)
class LoadResult:
    latencies: List[float]  # seconds
    elapsed: float
    errors: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentiles(self) -> Dict[str, float]:
        """p50/p95/p99 in milliseconds."""
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


async def _user(
    session: aiohttp.ClientSession, url: str, questions: Sequence[str], count: int, offset: int
) -> tuple[List[float], int]:
    latencies, errors = [], 0
    for turn in range(count):
        if turn % VISIT == 0:
            sender = f"bench-{uuid.uuid4()}"
        text = questions[(offset + turn) % len(questions)]
        started = time.monotonic()
        # Each message with its own id, as the widget sends it.
        body = {"sender": sender, "message": text, "message_id": uuid.uuid4().hex}
        async with session.post(url, json=body) as reply:
            # An empty list is a reply: the vanilla bot's UnexpecTED policy sometimes
            # answers with silence (action_unlikely_intent). A failure is an HTTP error.
            await reply.json()
            ok = reply.status == 200
        latencies.append(time.monotonic() - started)
        errors += not ok
    return latencies, errors


async def _load(url: str, questions: Sequence[str], users: int, messages: int) -> LoadResult:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.monotonic()
        results = await asyncio.gather(
            *(_user(session, url, questions, messages, n) for n in range(users))
        )
        elapsed = time.monotonic() - started
    return LoadResult(
        latencies=[s for latencies, _ in results for s in latencies],
        elapsed=elapsed,
        errors=sum(errors for _, errors in results),
    )


def run_load(url: str, questions: Sequence[str], users: int, messages: int) -> LoadResult:
    """`users` concurrent users, `messages` each; bounded by count and a 60 s timeout per call."""
    return asyncio.run(_load(url, questions, users, messages))
