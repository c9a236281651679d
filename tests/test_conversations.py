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
    payloads = [b["payload"] for b in follow_ups["buttons"]]
    assert payloads == [f"/faq_{t}" for t in topic.related] + ["/thank", "/feedback_not_helpful"]


async def test_two_questions_in_one_message_get_both_answers_in_order(agent: Any) -> None:
    pain, sessions = KNOWLEDGE.topics["pain"], KNOWLEDGE.topics["number_of_sessions"]
    replies = await say(agent, "does it hurt and how many sessions will I need?", new_sender())
    disclaimer, first, second, follow_ups = replies
    assert is_answer_to(first, pain) and is_answer_to(second, sessions)
    assert follow_ups["text"] == KNOWLEDGE.topic_prompt
    assert "/faq_pain" not in [b["payload"] for b in follow_ups["buttons"]]


async def test_one_question_with_and_in_it_gets_one_answer(agent: Any) -> None:
    replies = await say(agent, "is microneedling safe and effective?", new_sender())
    assert len(replies) == 3  # disclaimer, one answer, follow-ups


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


@pytest.mark.parametrize(
    "message",
    [
        "can i have it while breastfeeding",
        "is it ok when nursing",
        "what if i'm on accutane",
        "what about if I'm pregnant",
    ],
)
async def test_a_named_health_condition_leads_to_who_should_not_have_it(
    agent: Any, message: str
) -> None:
    """Answered, or (declined or unsure) offered as the first button."""
    topic = KNOWLEDGE.topics["contraindications"]
    messages = await say(agent, message, new_sender())
    buttons = [b["payload"] for m in messages for b in m.get("buttons", [])]
    answered = any(is_answer_to(m, topic) for m in messages)
    assert answered or buttons[0] == f"/{topic.intent}", (messages[0]["text"], buttons)


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


def times_kept(store_path: Path, text: str, reason: str) -> int:
    kept = ReviewStore(store_path).most_frequent(1000)
    return sum(q.times for q in kept if q.text == text and q.reason == reason)


async def test_that_did_not_help_offers_other_topics_and_keeps_the_question(
    agent: Any, review_store_path: Path
) -> None:
    sender = new_sender()
    kept_before = times_kept(review_store_path, "does it hurt?", "not helpful")
    await say(agent, "does it hurt?", sender)
    (reply,) = await say(agent, "that didn't help", sender)
    assert times_kept(review_store_path, "does it hurt?", "not helpful") == kept_before + 1
    assert reply["text"] == KNOWLEDGE.replies["feedback_not_helpful"].text
    payloads = [b["payload"] for b in reply["buttons"]]
    assert payloads[-1] == "/out_of_scope" and "/faq_pain" not in payloads
    assert all(KNOWLEDGE.topic_for_intent(p.lstrip("/")) for p in payloads[:-1])


async def test_that_helped_button_gets_the_thank_you(agent: Any) -> None:
    sender = new_sender()
    answer = await say(agent, "how many sessions will I need?", sender)
    helped = next(b for b in answer[-1]["buttons"] if b["title"] == KNOWLEDGE.feedback.helpful)
    (reply,) = await say(agent, helped["payload"], sender)
    assert reply["text"] == KNOWLEDGE.replies["thank"].text


def answered_topics(replies: List[Dict[str, Any]]) -> List[str]:
    """The topics whose answer (general or for a concern) the replies contain."""
    found = []
    for message in replies:
        for topic in KNOWLEDGE.topics.values():
            answers = [topic.answer, *(a.text for a in topic.by_concern.values())]
            if message["text"].partition("\n")[0] in answers:
                found.append(topic.id)
    return found


async def test_two_questions_then_a_concern_then_an_elliptical_follow_up(agent: Any) -> None:
    """The exchange from the issue: each turn answers what the user meant."""
    sender = new_sender()
    first = await say(agent, "does it hurt and how many sessions will I need?", sender)
    assert answered_topics(first) == ["pain", "number_of_sessions"]
    second = await say(agent, "and for acne scars?", sender)
    for_acne = KNOWLEDGE.topics["number_of_sessions"].by_concern["acne_scars"]
    assert second[0]["text"].startswith(for_acne.text)
    third = await say(agent, "what about after, can I go running?", sender)
    assert answered_topics(third) == ["aftercare_exercise"]


async def test_concern_carries_over_to_the_next_question(agent: Any) -> None:
    sender = new_sender()
    assert answered_topics(await say(agent, "does it help with acne scars?", sender)) == [
        "acne_scars"
    ]
    replies = await say(agent, "and for strech marks?", sender)  # misspelt on purpose
    assert answered_topics(replies) == ["stretch_marks"]
    # "That" is the concern in play: stretch marks, which have no sessions answer of
    # their own, so the general one; after acne scars, the one for acne scars.
    general = await say(agent, "how many sessions for that?", sender)
    assert general[0]["text"].startswith(KNOWLEDGE.topics["number_of_sessions"].answer)
    await say(agent, "what about acne scarring", sender)
    specific = await say(agent, "how many sessions would i need for that?", sender)
    for_acne = KNOWLEDGE.topics["number_of_sessions"].by_concern["acne_scars"]
    assert specific[0]["text"].startswith(for_acne.text)


async def test_concern_the_topic_in_play_has_nothing_on_gets_its_own_topic(agent: Any) -> None:
    sender = new_sender()
    await say(agent, "does it hurt?", sender)
    assert "stretch_marks" not in KNOWLEDGE.topics["pain"].by_concern
    replies = await say(agent, "and for stretch marks?", sender)
    note = KNOWLEDGE.no_specific_answer.format(concern=KNOWLEDGE.concerns["stretch_marks"])
    assert replies[0]["text"] == note
    assert answered_topics(replies) == ["stretch_marks"]


async def test_elliptical_follow_ups_resolve_against_the_last_topic(agent: Any) -> None:
    sender = new_sender()
    await say(agent, "what happens during a treatment?", sender)
    assert answered_topics(await say(agent, "how long?", sender)) == ["session_length"]
    assert answered_topics(await say(agent, "and after?", sender)) == ["aftercare_general"]


@pytest.mark.parametrize("follow_up", ["how long?", "is that normal?"])
async def test_follow_up_with_nothing_in_play_gets_a_question_back(
    agent: Any, follow_up: str
) -> None:
    messages = await say(agent, follow_up, new_sender())
    aspect = "how_long" if "long" in follow_up else "is_normal"
    clarifying = KNOWLEDGE.replies[f"follow_up_{aspect}"]
    assert messages[0]["text"] == clarifying.text
    # `choices` answer the question, on its own message; `suggest` come under the prompt.
    if clarifying.choices:
        (question,) = messages
        offered, expected = question["buttons"], clarifying.choices
    else:
        _, prompt = messages
        assert prompt["text"] == KNOWLEDGE.topic_prompt
        offered, expected = prompt["buttons"], clarifying.suggest
    assert expected and [b["payload"] for b in offered] == [f"/faq_{t}" for t in expected]
