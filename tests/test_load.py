"""A bounded load on loopback: 50 simulated users, 20 messages each, at once,
through the REST channel with the action server and the SQLite tracker store.
Every reply must reach its own sender and answer that sender's question once.
Throughput and latency are printed for the record, not asserted."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import List, Tuple

import aiohttp
from conftest import Assistant

from actions.knowledge import default_knowledge

USERS, MESSAGES = 50, 20
TOPICS = default_knowledge().topics
QUESTIONS = [
    ("does microneedling hurt?", "pain"),
    ("how many sessions will I need?", "number_of_sessions"),
    ("what is microneedling?", "what_is"),
    ("does it build collagen?", "collagen"),
    ("does it damage the skin barrier?", "skin_barrier"),
    ("how long does one session take?", "session_length"),
    ("when will I see results?", "results_timing"),
    ("what are the side effects?", "side_effects"),
    ("how much downtime is there?", "downtime"),
    ("can I wear makeup after microneedling?", "aftercare_makeup"),
    ("can I go to the gym after my session?", "aftercare_exercise"),
    ("does it work on acne scars?", "acne_scars"),
    ("can it help with stretch marks?", "stretch_marks"),
    ("is it ok for dark skin?", "skin_types"),
    ("who should not get microneedling?", "contraindications"),
    ("how deep do the needles go?", "needle_depth"),
    ("dermaroller or microneedling pen?", "devices"),
    ("how should I prepare for my appointment?", "preparation"),
    ("what do dermatologists think of it?", "dermatologists"),
    ("does it shrink pores?", "pores"),
]


async def simulated_user(
    session: aiohttp.ClientSession, url: str, number: int
) -> Tuple[List[str], List[float]]:
    """Sends MESSAGES questions one after another; returns problems and latencies."""
    sender, problems, latencies = f"load-user-{number}", [], []
    for turn in range(MESSAGES):
        question, topic_id = QUESTIONS[(number + turn) % len(QUESTIONS)]
        started = time.monotonic()
        async with session.post(url, json={"sender": sender, "message": question}) as reply:
            status, replies = reply.status, await reply.json()
        latencies.append(time.monotonic() - started)
        if status != 200:
            problems.append(f"{sender} turn {turn}: HTTP {status}")
            continue
        if any(r.get("recipient_id") != sender for r in replies):
            problems.append(f"{sender} turn {turn}: a reply addressed to another user")
        answers = [
            topic
            for r in replies
            for topic in TOPICS.values()
            if (r.get("text") or "").startswith(topic.answer)
        ]
        if [t.id for t in answers] != [topic_id]:
            found = [t.id for t in answers]
            problems.append(f"{sender} turn {turn}: asked {topic_id}, got answers {found}")
    return problems, latencies


async def test_fifty_concurrent_users_each_get_their_own_answers(assistant: Assistant) -> None:
    url = f"http://127.0.0.1:{assistant.rasa_port}/webhooks/rest/webhook"
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(simulated_user(session, url, n) for n in range(USERS))), 900
        )
        elapsed = time.monotonic() - started
    problems = [p for user_problems, _ in results for p in user_problems]
    latencies = sorted(s for _, user_latencies in results for s in user_latencies)
    percentile = statistics.quantiles(latencies, n=100)
    print(
        f"\n{USERS} users x {MESSAGES} messages: {len(latencies)} replies in {elapsed:.1f} s "
        f"({len(latencies) / elapsed:.1f}/s); latency p50 {percentile[49] * 1000:.0f} ms, "
        f"p95 {percentile[94] * 1000:.0f} ms, p99 {percentile[98] * 1000:.0f} ms"
    )
    assert problems == [], problems[:10]
    for number in (0, USERS // 2, USERS - 1):  # the stored conversations are whole and in order
        sender = f"load-user-{number}"
        asked = [e["text"] for e in assistant.events(sender) if e["event"] == "user"]
        expected = [QUESTIONS[(number + t) % len(QUESTIONS)][0] for t in range(MESSAGES)]
        assert asked == expected
