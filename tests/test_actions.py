"""The custom actions, run with a real Tracker and CollectingDispatcher on a
small knowledge file, so every expected text comes from the test's own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import MIN_GUESS_CONFIDENCE, ActionAnswerFaq, ActionReply
from actions.knowledge import KnowledgeBase, load_knowledge
from review.store import ReviewStore


@pytest.fixture
def knowledge(write_knowledge: Callable[..., Path]) -> KnowledgeBase:
    return load_knowledge(write_knowledge())


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    return ReviewStore(tmp_path / "review.db")


def tracker_for(
    intent: Optional[str], disclaimer_shown: bool = False, text: str = "some question"
) -> Tracker:
    latest: Dict[str, Any] = {"text": text, "intent": {"name": intent}}
    return Tracker(
        sender_id="test-user",
        slots={"disclaimer_shown": disclaimer_shown},
        latest_message=latest if intent else {},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def unsure_tracker(*ranking: Dict[str, Any]) -> Tracker:
    """The FallbackClassifier's verdict on top of the classifier's `ranking`."""
    tracker = tracker_for("nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.5},
        *ranking,
    ]
    return tracker


async def run(action: Any, tracker: Tracker) -> tuple[List[Dict[str, Any]], List[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


async def test_faq_answer_has_text_source_and_follow_up_buttons(knowledge: KnowledgeBase) -> None:
    messages, events = await run(ActionAnswerFaq(knowledge), tracker_for("faq_sessions"))
    disclaimer, answer, follow_ups = messages
    assert disclaimer["text"] == "Information only."
    assert answer["text"] == (
        "Alpha and Beta give different numbers.\nSources: “Alpha Article”; “Beta Article”"
    )
    assert follow_ups["text"] == "More:"
    assert follow_ups["buttons"] == [
        {"title": "Does it hurt?", "payload": "/faq_pain"},
        {"title": "Is it safe?", "payload": "/faq_safety"},
    ]
    assert events == [SlotSet("disclaimer_shown", True)]


async def test_single_source_is_named_in_the_singular(knowledge: KnowledgeBase) -> None:
    messages, _ = await run(ActionAnswerFaq(knowledge), tracker_for("faq_pain"))
    assert messages[1]["text"].endswith("\nSource: “Alpha Article”")


async def test_disclaimer_is_shown_once_per_conversation(knowledge: KnowledgeBase) -> None:
    tracker = tracker_for("faq_pain", disclaimer_shown=True)
    messages, events = await run(ActionAnswerFaq(knowledge), tracker)
    assert [m["text"] for m in messages] == [
        "A little, says Alpha.\nSource: “Alpha Article”",
        "More:",
    ]
    assert events == []


@pytest.mark.parametrize("intent", ["faq_price", "report_symptoms", None])
async def test_faq_action_without_a_knowledge_entry_gets_a_reply_not_a_crash(
    knowledge: KnowledgeBase, intent: Optional[str]
) -> None:
    messages, events = await run(ActionAnswerFaq(knowledge), tracker_for(intent))
    assert messages[0]["text"] == knowledge.reply_for_intent(intent).text
    assert events == []


async def test_reply_suggests_topics_as_buttons(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    messages, _ = await run(ActionReply(knowledge, store), tracker_for("greet"))
    assert [m["text"] for m in messages] == ["Hello there.", "More:"]
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/faq_pain", "/faq_sessions"]


async def test_fallback_intent_gets_the_fallback_reply_not_the_runner_up(
    knowledge: KnowledgeBase,
    store: ReviewStore,
) -> None:
    tracker = unsure_tracker(
        {"name": "greet", "confidence": 0.3},
    )
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert messages[0]["text"] == "Not sure what you meant."


async def test_unsure_between_topics_offers_the_likeliest_and_something_else(
    knowledge: KnowledgeBase,
    store: ReviewStore,
) -> None:
    tracker = unsure_tracker(
        {"name": "faq_sessions", "confidence": 0.41},
        {"name": "greet", "confidence": 0.3},
        {"name": "faq_pain", "confidence": 0.2},
        {"name": "faq_price", "confidence": 0.15},
        {"name": "faq_safety", "confidence": 0.12},
    )
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert [m["text"] for m in messages] == ["Did you mean?"]
    assert messages[0]["buttons"] == [
        {"title": "How many sessions?", "payload": "/faq_sessions"},
        {"title": "Does it hurt?", "payload": "/faq_pain"},
        {"title": "Is it safe?", "payload": "/faq_safety"},
        {"title": "Other", "payload": "/out_of_scope"},
    ]


async def test_unsure_with_one_topic_in_sight_gets_the_plain_fallback(
    knowledge: KnowledgeBase,
    store: ReviewStore,
) -> None:
    tracker = unsure_tracker(
        {"name": "out_of_scope", "confidence": 0.45},
        {"name": "faq_pain", "confidence": 0.3},
        {"name": "faq_safety", "confidence": MIN_GUESS_CONFIDENCE - 0.01},
    )
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert messages[0]["text"] == "Not sure what you meant."


async def test_unknown_intent_gets_the_fallback_reply(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    messages, _ = await run(ActionReply(knowledge, store), tracker_for("ask_weather"))
    assert messages[0]["text"] == "Not sure what you meant."


async def test_symptoms_reply_has_no_buttons(knowledge: KnowledgeBase, store: ReviewStore) -> None:
    messages, _ = await run(ActionReply(knowledge, store), tracker_for("report_symptoms"))
    assert [(m["text"], m["buttons"]) for m in messages] == [("Call a doctor.", [])]


@pytest.mark.parametrize("rank", [0, 1])
async def test_unsure_message_that_may_report_symptoms_gets_the_doctor_reply(
    knowledge: KnowledgeBase, store: ReviewStore, rank: int
) -> None:
    ranking = [{"name": "faq_pain", "confidence": 0.4}, {"name": "faq_sessions", "confidence": 0.3}]
    ranking.insert(rank, {"name": "report_symptoms", "confidence": 0.35})
    messages, _ = await run(ActionReply(knowledge, store), unsure_tracker(*ranking))
    assert [m["text"] for m in messages] == ["Call a doctor."]
    assert store.most_frequent() == [], "health details are not kept for review"


async def test_symptoms_as_third_guess_do_not_override_did_you_mean(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    tracker = unsure_tracker(
        {"name": "faq_pain", "confidence": 0.4},
        {"name": "faq_sessions", "confidence": 0.3},
        {"name": "report_symptoms", "confidence": 0.2},
    )
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert [m["text"] for m in messages] == ["Did you mean?"]


def test_actions_load_the_project_knowledge_file_by_default() -> None:
    assert ActionAnswerFaq().knowledge.topics == load_knowledge().topics


async def test_declined_and_unsure_messages_are_recorded_for_review(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    declined = tracker_for("out_of_scope", text="how much is it? mail me at ann@example.com")
    declined.latest_message["intent_ranking"] = [
        {"name": "out_of_scope", "confidence": 0.9},
        {"name": "faq_pain", "confidence": 0.06},
    ]
    await run(ActionReply(knowledge, store), declined)
    unsure = unsure_tracker(
        {"name": "faq_sessions", "confidence": 0.41},
        {"name": "faq_pain", "confidence": 0.2},
    )
    await run(ActionReply(knowledge, store), unsure)
    recorded = {q.text: q for q in store.most_frequent()}
    assert set(recorded) == {"how much is it? mail me at [email]", "some question"}
    assert recorded["how much is it? mail me at [email]"].reason == "declined"
    assert recorded["how much is it? mail me at [email]"].guesses == (
        ("out_of_scope", 0.9),
        ("faq_pain", 0.06),
    )
    assert recorded["some question"].reason == "did you mean"


@pytest.mark.parametrize(
    "intent, text",
    [
        ("greet", "hi"),
        ("faq_pain", "does it hurt"),
        ("report_symptoms", "my face is bleeding"),  # health details are not kept
        ("out_of_scope", "/out_of_scope"),  # the "something else" button
    ],
)
async def test_answered_messages_and_button_clicks_are_not_recorded(
    knowledge: KnowledgeBase, store: ReviewStore, intent: str, text: str
) -> None:
    await run(ActionReply(knowledge, store), tracker_for(intent, text=text))
    assert store.most_frequent() == []
