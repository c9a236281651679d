"""Custom actions: every answer comes from the knowledge file, none is written here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import (
    DECLINE_REPLY,
    DID_YOU_MEAN_REPLY,
    FALLBACK_REPLY,
    SYMPTOMS_REPLY,
    KnowledgeBase,
    Topic,
    default_knowledge,
)
from review.store import ReviewStore

DISCLAIMER_SLOT = "disclaimer_shown"
MAX_GUESSES = 3
MIN_GUESSES = 2
# Topics below this confidence are not worth offering; chosen on cross-validation
# (`make eval` reports how often the right topic is offered).
MIN_GUESS_CONFIDENCE = 0.05
# Safety net: an unsure message whose first or second guess is a symptom report
# gets the "contact a doctor" reply, since a missed symptom costs more than a
# needless warning (`make eval` reports what it catches in cross-validation).
SYMPTOMS_SAFETY_RANK = 2

Guesses = Sequence[Tuple[str, float]]


class KnowledgeAction(Action, ABC):
    """Shared plumbing: the injected knowledge base and topic buttons."""

    def __init__(self, knowledge: Optional[KnowledgeBase] = None) -> None:
        self.knowledge = knowledge or default_knowledge()

    def utter_with_topics(
        self, dispatcher: CollectingDispatcher, text: str, topic_ids: Iterable[str]
    ) -> None:
        """Utters `text`, then the topics as buttons under a short prompt of their own.

        Separate messages keep the buttons last and their prompt short: `rasa shell`
        turns the last message's buttons into a menu titled with its (unwrapped) text.
        """
        dispatcher.utter_message(text=text)
        topics = [self.knowledge.topics[topic_id] for topic_id in topic_ids]
        if topics:
            buttons = [topic_button(t) for t in topics]
            dispatcher.utter_message(text=self.knowledge.topic_prompt, buttons=buttons)

    def utter_reply(self, dispatcher: CollectingDispatcher, intent: Optional[str]) -> None:
        reply = self.knowledge.reply_for_intent(intent)
        self.utter_with_topics(dispatcher, reply.text, reply.suggest)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return self.respond(dispatcher, tracker, intent)

    @abstractmethod
    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: Optional[str]
    ) -> List[EventType]:
        """Utters the reply for `intent` and returns the events to apply."""


class ActionAnswerFaq(KnowledgeAction):
    """Answers an FAQ intent with its knowledge entry, sources and follow-ups."""

    def name(self) -> str:
        return "action_answer_faq"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: Optional[str]
    ) -> List[EventType]:
        topic = self.knowledge.topic_for_intent(intent)
        if topic is None:
            self.utter_reply(dispatcher, intent)
            return []
        events: List[EventType] = []
        if not tracker.get_slot(DISCLAIMER_SLOT):
            dispatcher.utter_message(text=self.knowledge.disclaimer)
            events.append(SlotSet(DISCLAIMER_SLOT, True))
        # One line break, not two: Rasa's output channels split a text at blank lines.
        self.utter_with_topics(dispatcher, f"{topic.answer}\n{source_line(topic)}", topic.related)
        return events


class ActionReply(KnowledgeAction):
    """Chitchat, declines, the fallback and the symptoms warning, keyed by intent.

    Declined and unsure messages go to the review store (`make review`).
    """

    def __init__(
        self, knowledge: Optional[KnowledgeBase] = None, store: Optional[ReviewStore] = None
    ) -> None:
        super().__init__(knowledge)
        self.store = store or ReviewStore()

    def name(self) -> str:
        return "action_reply"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: Optional[str]
    ) -> List[EventType]:
        guesses = classifier_guesses(tracker.latest_message)
        if intent == FALLBACK_REPLY and may_report_symptoms(guesses):
            intent = SYMPTOMS_REPLY
        offered: List[str] = []
        if intent == FALLBACK_REPLY:
            offered = offered_intents(guesses, self.knowledge.has_topic)
        self.record_unanswered(tracker, intent, guesses, offered_guesses=bool(offered))
        if not offered:
            self.utter_reply(dispatcher, intent)
            return []
        # Unsure between topics: offer the likeliest instead of guessing or giving up;
        # "something else" leads to the decline that says what the bot can answer.
        topics = (self.knowledge.topic_for_intent(name) for name in offered)
        buttons = [topic_button(t) for t in topics if t is not None]
        buttons.append({"title": self.knowledge.something_else, "payload": f"/{DECLINE_REPLY}"})
        reply = self.knowledge.replies[DID_YOU_MEAN_REPLY]
        dispatcher.utter_message(text=reply.text, buttons=buttons)
        return []

    def record_unanswered(
        self, tracker: Tracker, intent: Optional[str], guesses: Guesses, offered_guesses: bool
    ) -> None:
        text = tracker.latest_message.get("text") or ""
        # A button payload ("/out_of_scope" from "Something else") is not a question.
        if intent not in (DECLINE_REPLY, FALLBACK_REPLY) or text.startswith("/"):
            return
        if offered_guesses:
            reason = "did you mean"
        else:
            reason = "declined" if intent == DECLINE_REPLY else "not understood"
        self.store.record(text, reason, guesses[:MAX_GUESSES])


def classifier_guesses(message: Dict[str, Any]) -> Guesses:
    """The classifier's ranking of a parsed message, best first, as (intent, confidence)
    pairs; the FallbackClassifier's entry is left out, malformed entries skipped."""
    ranking = message.get("intent_ranking") or []
    return [
        (entry["name"], float(entry.get("confidence") or 0.0))
        for entry in ranking
        if isinstance(entry, dict) and entry.get("name") and entry["name"] != FALLBACK_REPLY
    ]


def may_report_symptoms(guesses: Guesses) -> bool:
    return SYMPTOMS_REPLY in [name for name, _ in guesses[:SYMPTOMS_SAFETY_RANK]]


def offered_intents(
    guesses: Guesses, is_topic: Callable[[str], bool], floor: float = MIN_GUESS_CONFIDENCE
) -> List[str]:
    """The topics "did you mean" offers for an unsure message: the likeliest few,
    or none when fewer than two are likely enough to be worth a button."""
    likely = [name for name, confidence in guesses if confidence >= floor and is_topic(name)]
    return likely[:MAX_GUESSES] if len(likely) >= MIN_GUESSES else []


def topic_button(topic: Topic) -> Dict[str, str]:
    """A button titled with the topic's question; its payload triggers the intent."""
    return {"title": topic.question, "payload": f"/{topic.intent}"}


def source_line(topic: Topic) -> str:
    label = "Source" if len(topic.sources) == 1 else "Sources"
    return f"{label}: " + "; ".join(f"“{s.title}”" for s in topic.sources)
