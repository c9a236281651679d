"""Custom actions: every answer comes from the knowledge file, none is written here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge import (
    CONCERN_FOLLOW_UP,
    DECLINE_REPLY,
    DID_YOU_MEAN_REPLY,
    FALLBACK_REPLY,
    FAQ_INTENT_PREFIX,
    FEEDBACK_REPLY,
    FOLLOW_UP_PREFIX,
    QUESTIONS_KEY,
    SYMPTOMS_REPLY,
    Answer,
    KnowledgeBase,
    Source,
    Topic,
    default_knowledge,
)
from review.store import ReviewStore

DISCLAIMER_SLOT = "disclaimer_shown"
CONCERN_SLOT = "concern"
# Entities whose values are topic ids: the skin concern or health condition a
# message names.
TOPIC_ENTITIES = (CONCERN_SLOT, "condition")
LAST_TOPIC_SLOT = "last_topic"
THANK_INTENT = "thank"  # what "That helped" sends: its reply is the thank-you
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
        self.utter_topics(dispatcher, topic_ids)

    def utter_topics(
        self,
        dispatcher: CollectingDispatcher,
        topic_ids: Iterable[str],
        extra_buttons: Sequence[Dict[str, str]] = (),
    ) -> None:
        buttons = [*self.topic_buttons(topic_ids), *extra_buttons]
        if buttons:
            dispatcher.utter_message(text=self.knowledge.topic_prompt, buttons=buttons)

    def utter_choices(
        self,
        dispatcher: CollectingDispatcher,
        text: str,
        topic_ids: Iterable[str],
        something_else: bool = False,
    ) -> None:
        """Utters a question with the topics that answer it as its own buttons, and
        "Something else" (leading to the decline, which says what the bot can answer)."""
        buttons = self.topic_buttons(topic_ids)
        if something_else:
            buttons.append({"title": self.knowledge.something_else, "payload": f"/{DECLINE_REPLY}"})
        dispatcher.utter_message(text=text, buttons=buttons)

    def topic_buttons(self, topic_ids: Iterable[str]) -> List[Dict[str, str]]:
        return [topic_button(self.knowledge.topics[topic_id]) for topic_id in topic_ids]

    def utter_reply(
        self, dispatcher: CollectingDispatcher, intent: Optional[str], named: Sequence[str] = ()
    ) -> None:
        """Utters the canned reply for `intent`; when it offers topics, the topics the
        message names (`named`) come first: "can I have it while breastfeeding" is
        declined, with who should not have it as the first button."""
        reply = self.knowledge.reply_for_intent(intent)
        if reply.choices:
            self.utter_choices(dispatcher, reply.text, named_first(named, reply.choices))
        else:
            self.utter_with_topics(dispatcher, reply.text, named_first(named, reply.suggest))

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
    """Answers an FAQ intent with its knowledge entry, sources and follow-ups.

    A message that asks several questions (`questions`, set by
    components/multi_question.py) gets each answer, in the order asked. The
    answer is the one specific to the skin concern in play when the knowledge
    file has one. A follow-up ("how long?", "and for stretch marks?") is
    answered from the topic answered last, or gets a question back when it is
    not clear what it refers to.
    """

    def name(self) -> str:
        return "action_answer_faq"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: Optional[str]
    ) -> List[EventType]:
        concern = tracker.get_slot(CONCERN_SLOT)
        note = None  # "nothing specific on <concern>" before the concern's own topic
        if intent and intent.startswith(FOLLOW_UP_PREFIX):
            last_topic = tracker.get_slot(LAST_TOPIC_SLOT)
            meant = follow_up_topic(self.knowledge, intent, last_topic, concern)
            intents = [meant.intent] if meant else [intent]
            if meant and left_for_concern(self.knowledge, intent, last_topic, meant):
                name_of = self.knowledge.concerns[meant.id]
                note = self.knowledge.no_specific_answer.format(concern=name_of)
        else:
            asked = asked_intents(tracker.latest_message) or [intent or ""]
            intents = resolve_parts(self.knowledge, asked, concern)
        topics = [self.knowledge.topic_for_intent(name) for name in intents]
        if not any(topics):
            named = named_topics(self.knowledge, tracker.latest_message)
            self.utter_reply(dispatcher, intent, named)
            return []
        events: List[EventType] = []
        if not tracker.get_slot(DISCLAIMER_SLOT):
            dispatcher.utter_message(text=self.knowledge.disclaimer)
            events.append(SlotSet(DISCLAIMER_SLOT, True))
        if note:
            dispatcher.utter_message(text=note)
        for name, topic in zip(intents, topics):
            if topic is None:  # a part the articles don't answer (price...): its reply
                dispatcher.utter_message(text=self.knowledge.reply_for_intent(name).text)
                continue
            dispatcher.utter_message(text=answer_text(topic.answer_for(concern)))
        answered = {t.id for t in topics if t is not None}
        last = [t for t in topics if t is not None][-1]
        related = [r for r in last.related if r not in answered]
        # The feedback buttons share the follow-ups' message: `rasa shell` offers
        # only the last message's buttons.
        feedback = self.knowledge.feedback
        self.utter_topics(
            dispatcher,
            related,
            [
                {"title": feedback.helpful, "payload": f"/{THANK_INTENT}"},
                {"title": feedback.not_helpful, "payload": f"/{FEEDBACK_REPLY}"},
            ],
        )
        return [*events, SlotSet(LAST_TOPIC_SLOT, last.id)]


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
        if intent == FEEDBACK_REPLY:
            self.after_a_miss(dispatcher, tracker)
            return []
        guesses = classifier_guesses(tracker.latest_message)
        if intent == FALLBACK_REPLY and may_report_symptoms(guesses):
            intent = SYMPTOMS_REPLY
        offered: List[str] = []
        if intent == FALLBACK_REPLY:
            offered = offered_intents(guesses, self.knowledge.has_topic)
        self.record_unanswered(tracker, intent, guesses, offered_guesses=bool(offered))
        named = named_topics(self.knowledge, tracker.latest_message)
        if not offered:
            self.utter_reply(dispatcher, intent, named)
            return []
        # Unsure between topics: offer the likeliest instead of guessing or giving up.
        topics = [t.id for t in map(self.knowledge.topic_for_intent, offered) if t]
        reply = self.knowledge.replies[DID_YOU_MEAN_REPLY]
        self.utter_choices(dispatcher, reply.text, named_first(named, topics), something_else=True)
        return []

    def after_a_miss(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """The user says the last answer missed: offer the other topics the question
        may have meant, and keep the question for review. The topics are the
        answer to the reply's question, so they hang on it, as "did you mean" does,
        not under the related-topics prompt."""
        reply = self.knowledge.replies[FEEDBACK_REPLY]
        topic_ids = list(reply.choices)
        question = last_answered_question(tracker)
        if question is not None:
            guesses = classifier_guesses(question)
            answered = set(asked_intents(question)) or {question["intent"]["name"]}
            likely = likely_topics(guesses, self.knowledge.has_topic)
            others = [name for name in likely if name not in answered][:MAX_GUESSES]
            self.store.record(question.get("text") or "", "not helpful", guesses[:MAX_GUESSES])
            # Without likely alternatives, the usual choices, less what was answered.
            topic_ids = [t.id for t in map(self.knowledge.topic_for_intent, others) if t] or [
                t for t in reply.choices if FAQ_INTENT_PREFIX + t not in answered
            ]
        self.utter_choices(dispatcher, reply.text, topic_ids, something_else=True)

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


def named_topics(knowledge: KnowledgeBase, message: Dict[str, Any]) -> List[str]:
    """The topics of the skin concerns and health conditions a parsed message names,
    in order, once each (the entities' values are topic ids)."""
    values = [
        entity.get("value")
        for entity in message.get("entities") or []
        if isinstance(entity, dict) and entity.get("entity") in TOPIC_ENTITIES
    ]
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v in knowledge.topics))


def named_first(named: Sequence[str], topic_ids: Sequence[str]) -> List[str]:
    """A reply's topic buttons with the named topics first; a reply that offers no
    topics (the symptoms warning) gets none."""
    return list(dict.fromkeys([*named, *topic_ids])) if topic_ids else []


def may_report_symptoms(guesses: Guesses) -> bool:
    return SYMPTOMS_REPLY in [name for name, _ in guesses[:SYMPTOMS_SAFETY_RANK]]


def offered_intents(
    guesses: Guesses, is_topic: Callable[[str], bool], floor: float = MIN_GUESS_CONFIDENCE
) -> List[str]:
    """The topics "did you mean" offers for an unsure message: the likeliest few,
    or none when fewer than two are likely enough to be worth a button."""
    likely = likely_topics(guesses, is_topic, floor)
    return likely[:MAX_GUESSES] if len(likely) >= MIN_GUESSES else []


def likely_topics(
    guesses: Guesses, is_topic: Callable[[str], bool], floor: float = MIN_GUESS_CONFIDENCE
) -> List[str]:
    """The guessed topics likely enough to be worth a button, best first."""
    return [name for name, confidence in guesses if confidence >= floor and is_topic(name)]


def last_answered_question(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The parse data of the last message answered from the knowledge file, before
    the current one; None when there is none or a button click was answered."""
    user_events = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(user_events[:-1]):
        parsed = event.get("parse_data") or {}
        intent = (parsed.get("intent") or {}).get("name") or ""
        if intent.startswith(FAQ_INTENT_PREFIX):
            return None if (event.get("text") or "").startswith("/") else parsed
    return None


def resolve_parts(
    knowledge: KnowledgeBase, intents: List[str], concern: Optional[str]
) -> List[str]:
    """The intents to answer for a message's parts: a follow-up part ("...and how
    long do they last") becomes the topic it means after the part before it; one
    that means nothing clear is dropped."""
    resolved: List[str] = []
    for name in intents:
        if name.startswith(FOLLOW_UP_PREFIX):
            previous = knowledge.topic_for_intent(resolved[-1] if resolved else None)
            meant = follow_up_topic(knowledge, name, previous.id if previous else None, concern)
            if meant is None or meant.intent in resolved:
                continue
            name = meant.intent
        resolved.append(name)
    return resolved


def follow_up_topic(
    knowledge: KnowledgeBase, intent: str, last_topic: Optional[str], concern: Optional[str]
) -> Optional[Topic]:
    """The topic a follow-up means after `last_topic`, or None when unclear."""
    last = knowledge.topics.get(last_topic or "")
    if intent == CONCERN_FOLLOW_UP:
        if not concern:
            return None
        # The topic in play (sessions) for the new concern when it has an answer
        # for it; otherwise the concern's own topic, not the same answer again.
        if last is not None and concern in last.by_concern:
            return last
        return knowledge.topics.get(concern)
    target = last.follow_ups.get(intent[len(FOLLOW_UP_PREFIX) :]) if last else None
    return knowledge.topics.get(target or "")


def left_for_concern(
    knowledge: KnowledgeBase, intent: str, last_topic: Optional[str], meant: Topic
) -> bool:
    """Whether "and for <concern>?" left the topic in play (sessions, say), which has
    nothing specific on that concern, for the concern's own topic."""
    in_play = last_topic is not None and last_topic not in knowledge.concerns
    return intent == CONCERN_FOLLOW_UP and in_play and meant.id in knowledge.concerns


def asked_intents(message: Dict[str, Any]) -> List[str]:
    """The intents of the questions a message asks, in order, when it asks several."""
    questions = message.get(QUESTIONS_KEY) or []
    return [q["intent"] for q in questions if isinstance(q, dict) and q.get("intent")]


def answer_text(answer: Answer) -> str:
    # One line break, not two: Rasa's output channels split a text at blank lines.
    return f"{answer.text}\n{source_line(answer.sources)}"


def topic_button(topic: Topic) -> Dict[str, str]:
    """A button titled with the topic's question; its payload triggers the intent."""
    return {"title": topic.question, "payload": f"/{topic.intent}"}


def source_line(sources: Sequence[Source]) -> str:
    label = "Source" if len(sources) == 1 else "Sources"
    return f"{label}: " + "; ".join(f"“{s.title}”" for s in sources)
