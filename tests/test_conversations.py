"""Whole conversations through the trained model and a real action server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

from actions.knowledge import Topic, default_knowledge
from review.store import ReviewStore

KNOWLEDGE = default_knowledge()


async def say(agent: Any, text: str, sender: str) -> List[Dict[str, Any]]:
    return list(await agent.handle_text(text, sender_id=sender))


def new_sender() -> str:
    return f"test-{uuid.uuid4()}"


def is_answer_to(message: Dict[str, Any], topic: Topic) -> bool:
    """The topic's answer, followed on the next line by the title of each source."""
    answer, _, sources = message["text"].partition("\n")
    return answer == topic.answer and all(s.title in sources for s in topic.sources)


@pytest.mark.parametrize(
    "question, topic_id",
    [
        ("does microneedling hurt?", "pain"),
        ("how many sessions will I need?", "number_of_sessions"),
        ("does it damage my skin barrier?", "skin_barrier"),
        ("can it build collagen?", "collagen"),
    ],
)
async def test_faq_question_gets_its_answer_source_and_follow_ups(
    agent: Any, question: str, topic_id: str
) -> None:
    topic = KNOWLEDGE.topics[topic_id]
    disclaimer, answer, follow_ups = await say(agent, question, new_sender())
    assert disclaimer["text"] == KNOWLEDGE.disclaimer
    assert is_answer_to(answer, topic)
    assert follow_ups["text"] == KNOWLEDGE.topic_prompt
    assert [b["payload"] for b in follow_ups["buttons"]] == [f"/faq_{t}" for t in topic.related]


async def test_disclaimer_once_then_follow_up_button_answers_its_topic(agent: Any) -> None:
    sender = new_sender()
    first = await say(agent, "does it hurt", sender)
    follow_up = first[-1]["buttons"][0]
    second = await say(agent, follow_up["payload"], sender)
    topic = KNOWLEDGE.topic_for_intent(follow_up["payload"].lstrip("/"))
    assert topic is not None and topic.question == follow_up["title"]
    answer, follow_ups = second
    assert is_answer_to(answer, topic)
    assert follow_ups["text"] == KNOWLEDGE.topic_prompt


@pytest.mark.parametrize(
    "message, reply_key",
    [
        ("hi there", "greet"),
        ("thanks a lot!", "thank"),
        ("bye", "goodbye"),
        ("are you a real doctor?", "bot_challenge"),
        ("what can you do?", "ask_capabilities"),
        ("how much does it cost?", "out_of_scope"),
        ("can I book an appointment for tuesday", "out_of_scope"),
        ("what's the weather like in paris", "out_of_scope"),
        ("I had microneedling yesterday and my face won't stop bleeding", "report_symptoms"),
        ("/nlu_fallback", "nlu_fallback"),
    ],
)
async def test_other_messages_get_their_reply(agent: Any, message: str, reply_key: str) -> None:
    reply = KNOWLEDGE.replies[reply_key]
    text, *follow_ups = await say(agent, message, new_sender())
    assert text["text"] == reply.text
    assert [b["payload"] for m in follow_ups for b in m["buttons"]] == [
        f"/faq_{t}" for t in reply.suggest
    ]


def test_decline_and_symptom_replies_say_what_users_need() -> None:
    decline = KNOWLEDGE.replies["out_of_scope"]
    assert len(decline.suggest) >= 2, "a decline says what the bot can answer"
    symptoms = KNOWLEDGE.replies["report_symptoms"].text.lower()
    assert "doctor" in symptoms and "emergency" in symptoms


async def test_unsure_between_topics_offers_them_and_something_else_declines(agent: Any) -> None:
    sender = new_sender()
    # Vague: how the skin looks after (results) or how to care for it after?
    (offer,) = await say(agent, "my skin after", sender)
    assert offer["text"] == KNOWLEDGE.replies["did_you_mean"].text
    *topics, other = offer["buttons"]
    assert 2 <= len(topics) <= 3
    offered = {b["payload"] for b in topics}
    assert offered & {"/faq_results_timing", "/faq_aftercare_general"}
    assert other == {"title": KNOWLEDGE.something_else, "payload": "/out_of_scope"}
    decline, *_ = await say(agent, other["payload"], sender)
    assert decline["text"] == KNOWLEDGE.replies["out_of_scope"].text


async def test_a_declined_question_is_kept_for_review_without_personal_data(
    agent: Any, review_store_path: Path
) -> None:
    question = f"can you email the price list to me at ann.{uuid.uuid4().hex[:8]}@example.com"
    decline, *_ = await say(agent, question, new_sender())
    assert decline["text"] == KNOWLEDGE.replies["out_of_scope"].text
    recorded = [
        q for q in ReviewStore(review_store_path).most_frequent(1000) if q.reason == "declined"
    ]
    assert "can you email the price list to me at [email]" in [q.text for q in recorded]
