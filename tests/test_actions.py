"""The custom actions, run with a real Tracker and CollectingDispatcher on a
small knowledge file, so every expected text comes from the test's own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from conftest import SMALL_KNOWLEDGE, run, tracker_for
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.actions import MIN_GUESS_CONFIDENCE, ActionAnswerFaq, ActionReply
from actions.knowledge import KnowledgeBase, load_knowledge
from review.store import ReviewStore


@pytest.fixture
def knowledge(write_knowledge: Callable[..., Path]) -> KnowledgeBase:
    return load_knowledge(write_knowledge())


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    return ReviewStore(tmp_path / "review.db")


def unsure_tracker(*ranking: Dict[str, Any]) -> Tracker:
    """The FallbackClassifier's verdict on top of the classifier's `ranking`."""
    tracker = tracker_for("nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.5},
        *ranking,
    ]
    return tracker


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
        {"title": "Helped", "payload": "/thank"},
        {"title": "Missed", "payload": "/feedback_not_helpful"},
    ]
    assert events == [SlotSet("disclaimer_shown", True), SlotSet("last_topic", "sessions")]


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
    assert events == [SlotSet("last_topic", "pain")]  # no second disclaimer


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


def naming(tracker: Tracker, *entities: tuple[str, str]) -> Tracker:
    """The message names these (entity, value) pairs, as Rasa's extractors mark them."""
    tracker.latest_message["entities"] = [{"entity": e, "value": v} for e, v in entities]
    return tracker


async def test_reply_offers_the_topics_the_message_names_first_once_each(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    tracker = naming(
        tracker_for("greet"),
        ("condition", "safety"),
        ("concern", "sessions"),  # already a suggestion: not offered twice
        ("condition", "pregnancy"),  # not a topic id
        ("place", "pain"),  # not an entity that names a topic
    )
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    payloads = [b["payload"] for b in messages[1]["buttons"]]
    assert payloads == ["/faq_safety", "/faq_sessions", "/faq_pain"]


async def test_did_you_mean_offers_the_named_topic_first(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    tracker = unsure_tracker(
        {"name": "faq_sessions", "confidence": 0.41},
        {"name": "faq_pain", "confidence": 0.2},
    )
    messages, _ = await run(ActionReply(knowledge, store), naming(tracker, ("condition", "safety")))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/faq_safety", "/faq_sessions", "/faq_pain", "/out_of_scope"]


async def test_follow_up_with_nothing_in_play_offers_the_named_topic_first(
    knowledge: KnowledgeBase,
) -> None:
    tracker = naming(tracker_for("follow_up_how_long"), ("condition", "safety"))
    messages, _ = await run(ActionAnswerFaq(knowledge), tracker)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/faq_safety", "/faq_sessions"]


async def test_symptoms_reply_gets_no_buttons_even_when_a_condition_is_named(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    tracker = naming(tracker_for("report_symptoms"), ("condition", "safety"))
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert [(m["text"], m["buttons"]) for m in messages] == [("Call a doctor.", [])]


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


def asking(*intents: str) -> Tracker:
    """A message that asks several questions, as components/multi_question.py marks it."""
    tracker = tracker_for(intents[0])
    tracker.latest_message["questions"] = [
        {"text": f"question {i}", "intent": name, "confidence": 0.9}
        for i, name in enumerate(intents)
    ]
    return tracker


async def test_several_questions_get_each_answer_in_order_then_follow_ups(
    knowledge: KnowledgeBase,
) -> None:
    messages, events = await run(ActionAnswerFaq(knowledge), asking("faq_safety", "faq_pain"))
    disclaimer, first, second, follow_ups = messages
    assert disclaimer["text"] == "Information only."
    assert first == {**first, "text": "Mostly, says Beta.\nSource: “Beta Article”", "buttons": []}
    assert second["text"] == "A little, says Alpha.\nSource: “Alpha Article”"
    # The last answer's related topics, without the ones just answered.
    assert [b["payload"] for b in follow_ups["buttons"][:-2]] == ["/faq_sessions"]
    assert events == [SlotSet("disclaimer_shown", True), SlotSet("last_topic", "pain")]


async def test_a_question_the_articles_do_not_answer_gets_its_reply_in_its_place(
    write_knowledge: Callable[..., Path],
) -> None:
    replies = {**SMALL_KNOWLEDGE["replies"], "out_of_scope": {"text": "Sorry, not covered."}}
    knowledge = load_knowledge(write_knowledge({**SMALL_KNOWLEDGE, "replies": replies}))
    tracker = asking("out_of_scope", "faq_pain", "report_symptoms")
    messages, _ = await run(ActionAnswerFaq(knowledge), tracker)
    texts = [m["text"] for m in messages]
    assert texts[1:] == ["Sorry, not covered.", texts[2], "Call a doctor.", "More:"]
    assert texts[2].startswith("A little, says Alpha.")
    assert [b["payload"] for b in messages[-1]["buttons"][:-2]] == ["/faq_sessions", "/faq_safety"]


def after_answer(text: str, ranking: List[Dict[str, Any]], feedback: str) -> Tracker:
    """A conversation where `text` was answered, then the user sent `feedback`."""
    asked = {"text": text, "intent": ranking[0], "intent_ranking": ranking}
    tracker = tracker_for("feedback_not_helpful", disclaimer_shown=True, text=feedback)
    tracker.events = [
        {"event": "user", "text": text, "parse_data": asked},
        {"event": "action", "name": "action_answer_faq"},
        {"event": "bot", "text": "an answer"},
        {"event": "user", "text": feedback, "parse_data": tracker.latest_message},
    ]
    return tracker


async def test_answers_end_with_feedback_buttons(knowledge: KnowledgeBase) -> None:
    messages, _ = await run(ActionAnswerFaq(knowledge), tracker_for("faq_pain"))
    assert messages[-1]["buttons"][-2:] == [
        {"title": "Helped", "payload": "/thank"},
        {"title": "Missed", "payload": "/feedback_not_helpful"},
    ]


async def test_not_helpful_offers_the_other_likely_topics_and_keeps_the_question(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    ranking = [
        {"name": "faq_pain", "confidence": 0.6},
        {"name": "faq_safety", "confidence": 0.3},
        {"name": "greet", "confidence": 0.06},
        {"name": "faq_sessions", "confidence": 0.01},  # too unlikely to offer
    ]
    tracker = after_answer("does it sting, mail me at a@b.org", ranking, "/feedback_not_helpful")
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    # One message: the topics answer its question ("did you mean?").
    (message,) = messages
    assert message["text"] == "Sorry. Did you mean?"
    assert message["buttons"] == [
        {"title": "Is it safe?", "payload": "/faq_safety"},
        {"title": "Other", "payload": "/out_of_scope"},
    ]
    (kept,) = store.most_frequent()
    assert (kept.text, kept.reason) == ("does it sting, mail me at [email]", "not helpful")
    assert kept.guesses[0] == ("faq_pain", 0.6)


async def test_not_helpful_without_alternatives_suggests_topics(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    ranking = [{"name": "faq_pain", "confidence": 0.99}]
    tracker = after_answer("does it sting", ranking, "that didn't help")
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    # The suggestions without pain, which was answered.
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/faq_safety", "/out_of_scope"]
    assert len(store.most_frequent()) == 1


async def test_not_helpful_with_nothing_answered_before_records_nothing(
    knowledge: KnowledgeBase, store: ReviewStore
) -> None:
    tracker = tracker_for("feedback_not_helpful", text="that didn't help")
    tracker.events = [{"event": "user", "text": "that didn't help", "parse_data": {}}]
    messages, _ = await run(ActionReply(knowledge, store), tracker)
    assert messages[0]["text"] == "Sorry. Did you mean?"
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/faq_pain",
        "/faq_safety",
        "/out_of_scope",
    ]
    assert store.most_frequent() == []


async def answers_to(knowledge: KnowledgeBase, tracker: Tracker) -> List[str]:
    messages, _ = await run(ActionAnswerFaq(knowledge), tracker)
    return [m["text"] for m in messages]


async def test_follow_up_is_answered_from_the_topic_in_play(knowledge: KnowledgeBase) -> None:
    tracker = tracker_for("follow_up_how_long", disclaimer_shown=True, last_topic="pain")
    texts = await answers_to(knowledge, tracker)
    assert texts[0].startswith("Alpha and Beta give different numbers.")  # pain: how_long


@pytest.mark.parametrize("last_topic", [None, "safety"])  # nothing in play; no such follow-up
async def test_unclear_follow_up_gets_a_question_back(
    knowledge: KnowledgeBase, last_topic: Optional[str]
) -> None:
    tracker = tracker_for("follow_up_how_long", disclaimer_shown=True, last_topic=last_topic)
    messages, events = await run(ActionAnswerFaq(knowledge), tracker)
    # One message: the buttons answer its question.
    (message,) = messages
    assert message["text"] == "How long for what?"
    assert [b["payload"] for b in message["buttons"]] == ["/faq_sessions"]
    assert events == []


async def test_answer_specific_to_the_concern_in_play(knowledge: KnowledgeBase) -> None:
    tracker = tracker_for("faq_sessions", disclaimer_shown=True, concern="scars")
    texts = await answers_to(knowledge, tracker)
    assert texts[0] == "For scars, Beta says more.\nSource: “Beta Article”"


async def test_concern_follow_up_applies_the_new_concern_to_the_topic_in_play(
    knowledge: KnowledgeBase,
) -> None:
    tracker = tracker_for(
        "follow_up_concern", disclaimer_shown=True, last_topic="sessions", concern="scars"
    )
    assert (await answers_to(knowledge, tracker))[0].startswith("For scars, Beta says more.")


async def test_concern_follow_up_without_a_specific_answer_moves_to_the_concern(
    knowledge: KnowledgeBase,
) -> None:
    # Pain has nothing on safety worries: say so, then the concern's own topic,
    # not the pain answer again.
    tracker = tracker_for(
        "follow_up_concern", disclaimer_shown=True, last_topic="pain", concern="safety"
    )
    messages, events = await run(ActionAnswerFaq(knowledge), tracker)
    assert messages[0]["text"] == "Nothing specific on safety worries."
    assert messages[1]["text"].startswith("Mostly, says Beta.")
    assert SlotSet("last_topic", "safety") in events


async def test_concern_follow_up_after_a_concern_topic_answers_the_other_concern(
    knowledge: KnowledgeBase,
) -> None:
    tracker = tracker_for(
        "follow_up_concern", disclaimer_shown=True, last_topic="scars", concern="safety"
    )
    assert (await answers_to(knowledge, tracker))[0].startswith("Mostly, says Beta.")


async def test_follow_up_part_of_a_message_refers_to_the_part_before(
    knowledge: KnowledgeBase,
) -> None:
    texts = await answers_to(knowledge, asking("faq_pain", "follow_up_how_long"))
    assert texts[1].startswith("A little, says Alpha.")
    assert texts[2].startswith("Alpha and Beta give different numbers.")
    # A follow-up part that refers to nothing clear is left out.
    texts = await answers_to(knowledge, asking("faq_safety", "follow_up_after"))
    assert texts[1:] == [texts[1], "More:"] and texts[1].startswith("Mostly, says Beta.")
