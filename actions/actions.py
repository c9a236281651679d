"""Custom actions: every answer comes from the knowledge file, none is written here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, Iterable, List, Optional

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
        if intent == FALLBACK_REPLY and may_report_symptoms(tracker):
            intent = SYMPTOMS_REPLY
        guesses = self.likeliest_topics(tracker) if intent == FALLBACK_REPLY else []
        self.record_unanswered(tracker, intent, offered_guesses=len(guesses) >= MIN_GUESSES)
        if len(guesses) < MIN_GUESSES:
            self.utter_reply(dispatcher, intent)
            return []
        # Unsure between topics: offer the likeliest instead of guessing or giving up;
        # "something else" leads to the decline that says what the bot can answer.
        buttons = [topic_button(t) for t in guesses]
        buttons.append({"title": self.knowledge.something_else, "payload": f"/{DECLINE_REPLY}"})
        reply = self.knowledge.replies[DID_YOU_MEAN_REPLY]
        dispatcher.utter_message(text=reply.text, buttons=buttons)
        return []

    def record_unanswered(
        self, tracker: Tracker, intent: Optional[str], offered_guesses: bool
    ) -> None:
        text = tracker.latest_message.get("text") or ""
        # A button payload ("/out_of_scope" from "Something else") is not a question.
        if intent not in (DECLINE_REPLY, FALLBACK_REPLY) or text.startswith("/"):
            return
        if offered_guesses:
            reason = "did you mean"
        else:
            reason = "declined" if intent == DECLINE_REPLY else "not understood"
        ranking = tracker.latest_message.get("intent_ranking") or []
        guesses = [
            (r["name"], float(r.get("confidence", 0)))
            for r in ranking
            if r.get("name") and r["name"] != FALLBACK_REPLY
        ]
        self.store.record(text, reason, guesses[:MAX_GUESSES])

    def likeliest_topics(self, tracker: Tracker) -> List[Topic]:
        """The FAQ topics the classifier ranked highest for the latest message."""
        ranking = tracker.latest_message.get("intent_ranking") or []
        likely = (r for r in ranking if r.get("confidence", 0) >= MIN_GUESS_CONFIDENCE)
        topics = (self.knowledge.topic_for_intent(r.get("name")) for r in likely)
        return [t for t in topics if t is not None][:MAX_GUESSES]


def may_report_symptoms(tracker: Tracker) -> bool:
    ranking = tracker.latest_message.get("intent_ranking") or []
    guesses = [r.get("name") for r in ranking if r.get("name") != FALLBACK_REPLY]
    return SYMPTOMS_REPLY in guesses[:SYMPTOMS_SAFETY_RANK]


def topic_button(topic: Topic) -> Dict[str, str]:
    """A button titled with the topic's question; its payload triggers the intent."""
    return {"title": topic.question, "payload": f"/{topic.intent}"}


def source_line(topic: Topic) -> str:
    label = "Source" if len(topic.sources) == 1 else "Sources"
    return f"{label}: " + "; ".join(f"“{s.title}”" for s in topic.sources)
