"""Custom actions: every answer comes from the knowledge file, none is written here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import KnowledgeBase, Topic, default_knowledge

DISCLAIMER_SLOT = "disclaimer_shown"


class KnowledgeAction(Action, ABC):
    """Shared plumbing: the injected knowledge base and topic buttons."""

    def __init__(self, knowledge: Optional[KnowledgeBase] = None) -> None:
        self.knowledge = knowledge or default_knowledge()

    def topic_buttons(self, topic_ids: Iterable[str]) -> List[Dict[str, Any]]:
        topics = (self.knowledge.topics[topic_id] for topic_id in topic_ids)
        return [{"title": t.question, "payload": f"/{t.intent}"} for t in topics]

    def utter_reply(self, dispatcher: CollectingDispatcher, intent: Optional[str]) -> None:
        reply = self.knowledge.reply_for_intent(intent)
        dispatcher.utter_message(text=reply.text, buttons=self.topic_buttons(reply.suggest))

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
        dispatcher.utter_message(
            text=f"{topic.answer}\n\n{source_line(topic)}",
            buttons=self.topic_buttons(topic.related),
        )
        if tracker.get_slot(DISCLAIMER_SLOT):
            return []
        dispatcher.utter_message(text=self.knowledge.disclaimer)
        return [SlotSet(DISCLAIMER_SLOT, True)]


class ActionReply(KnowledgeAction):
    """Chitchat, declines, the fallback and the symptoms warning, keyed by intent."""

    def name(self) -> str:
        return "action_reply"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: Optional[str]
    ) -> List[EventType]:
        self.utter_reply(dispatcher, intent)
        return []


def source_line(topic: Topic) -> str:
    label = "Source" if len(topic.sources) == 1 else "Sources"
    return f"{label}: " + "; ".join(f"“{s.title}”" for s in topic.sources)
