"""DIET that also finds the questions of a message that asks several at once.

DIET gives a message one intent, so "does it hurt and how long is the recovery"
would get one answer at best. `MultiQuestionDIETClassifier` is Rasa's
DIETClassifier (trained and configured the same way) that, after classifying a
message, cuts it at sentence ends (spaCy's sentencizer, in the project's spaCy
pipeline), before a word that starts a new question when it follows "and",
"also" or a comma ("..., and is it ok for dark skin"), and after "and also",
whose part is asked with the opener of the part before ("can it shrink my pores
and also help with wrinkles": "can it help with wrinkles"). Each part is featurized
by the pipeline's own featurizers and classified by the same trained model, and
when two or more parts are confidently different questions, the message gets
`questions` (text, intent and confidence of each, in the order asked) for the
answer action, and the first one's intent, so the FAQ rule fires. A later part
may be a follow-up ("what are the side effects and how long do they last"): the
action reads it against the part before. One question next to a greeting or a
follow-up with nothing to refer to ("hello, how many sessions do I need?",
"what about after, can I go running?") becomes the message's intent when the
classifier is surer of it than of the whole message. "Is it safe and effective?" has no part that
starts a new question and stays whole; so does a message whose parts are not
confidently different.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.tokens import Doc

from actions.knowledge import (
    DECLINE_REPLY,
    FAQ_INTENT_PREFIX,
    FOLLOW_UP_PREFIX,
    QUESTIONS_KEY,
    SYMPTOMS_REPLY,
)

SPACY_DOC = "text_spacy_doc"

# Words that open a question. A part counts as a question when it starts with
# one or ends with "?"; after "and", "also" or a comma, one starts a new part.
# "Or" is no joiner: "by a dermatologist or is a beautician fine" is one question.
WH_WORDS = frozenset(
    [
        "what",
        "whats",
        "what's",
        "how",
        "when",
        "where",
        "who",
        "which",
        "why",
        "any",
        "tell",
        "explain",
    ]
)
AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "am",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "do",
        "does",
        "did",
        "should",
        "shall",
        "may",
        "might",
        "must",
    ]
)
# An auxiliary opens a question only before its subject: "and does it bleed",
# not "and do some exercise".
SUBJECTS = frozenset(
    [
        "i",
        "it",
        "you",
        "we",
        "they",
        "he",
        "she",
        "my",
        "your",
        "the",
        "this",
        "that",
        "these",
        "those",
        "there",
        "a",
        "an",
        "microneedling",
        "people",
        "someone",
        "anyone",
    ]
)
JOINERS = frozenset({"and", "also", "plus", "&", ","})
# Intents a part may have: an FAQ topic, a question the articles don't answer,
# or a symptom report (whose "contact your doctor" reply must not be dropped).
ANSWERABLE_PREFIXES = (FAQ_INTENT_PREFIX, DECLINE_REPLY, SYMPTOMS_REPLY)
# More questions than this is a pasted text, not a message to answer piece by
# piece (and each part costs a pass through the pipeline).
MAX_PARTS = 4


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class MultiQuestionDIETClassifier(DIETClassifier):
    """Rasa's DIETClassifier, trained and configured as usual, which also finds
    the questions of a message that asks several (see the module's docstring).

    The parts are classified by this same trained model: a second copy of DIET
    cost 147 MB. Only the tokenizer, entity extractors and featurizers before it
    are loaded a second time (from the model, while Rasa loads it: it is gone
    afterwards), to featurize the parts.
    """

    finder: Optional[QuestionFinder] = None  # set when loaded to predict

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DIETClassifier:
        classifier = super().load(config, model_storage, resource, execution_context, **kwargs)
        schema = execution_context.graph_schema
        node = schema.nodes.get(execution_context.node_name or "")
        upstream = node.needs.get("messages") if node else None
        if not isinstance(classifier, cls) or upstream is None or node.fn != "process":
            return classifier  # not in the prediction graph: nothing to find
        featurize = featurizer(schema.minimal_graph_schema([upstream]))
        featurizers = DaskGraphRunner(featurize.schema, model_storage, execution_context)

        def classify(parts: Sequence[Any]) -> List[Message]:
            inputs = {featurize.entry: featurize.messages(parts)}
            featurized = featurizers.run(inputs=inputs, targets=[upstream])[upstream]
            classified: List[Message] = DIETClassifier.process(classifier, featurized)
            return classified

        # A part is answered when it would be as a message of its own: it must
        # clear the FallbackClassifier's threshold.
        default = FallbackClassifier.get_default_config()["threshold"]
        thresholds = [
            float(n.config.get("threshold", default))
            for n in schema.nodes.values()
            if issubclass(n.uses, FallbackClassifier)
        ]
        classifier.finder = QuestionFinder(classify, max(thresholds, default=default))
        return classifier

    def process(self, messages: List[Message]) -> List[Message]:
        messages = super().process(messages)
        if self.finder is not None:
            for message in messages:
                self.finder.find(message)
        return messages


@dataclass(frozen=True)
class Featurizer:
    """The pipeline's nodes up to DIET, run on a message's parts. With SpacyNLP
    in the pipeline, the parts enter after it as spans of the message's spaCy
    doc, so the spaCy model is not loaded a second time."""

    schema: GraphSchema
    entry: str  # the node whose output the parts replace
    with_spacy_docs: bool

    def messages(self, parts: Sequence[Any]) -> List[Any]:
        if self.with_spacy_docs:
            return [Message(data={TEXT: part.text, SPACY_DOC: part.as_doc()}) for part in parts]
        return [UserMessage(text=part.text) for part in parts]


def featurizer(schema: GraphSchema) -> Featurizer:
    spacy = [n for n, node in schema.nodes.items() if issubclass(node.uses, SpacyNLP)]
    entry = next((n for n in spacy if schema.nodes[n].fn == "process"), None)
    if entry is None:
        return Featurizer(schema, PLACEHOLDER_MESSAGE, with_spacy_docs=False)
    before = schema.minimal_graph_schema([entry]).nodes
    after = {name: node for name, node in schema.nodes.items() if name not in before}
    return Featurizer(GraphSchema(after), entry, with_spacy_docs=True)


class QuestionFinder:
    """Sets `questions` on a message that asks several, from its parts' intents."""

    def __init__(
        self, classify: Callable[[Sequence[Any]], List[Message]], min_confidence: float
    ) -> None:
        self._classify = classify
        self.min_confidence = min_confidence

    def find(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        predicted = message.get(INTENT) or {}
        intent = predicted.get(INTENT_NAME_KEY)
        doc = message.get(SPACY_DOC)
        # A symptom report is never cut: the "contact your doctor" reply must come whole.
        if doc is None or text.startswith(INTENT_MESSAGE_PREFIX) or intent == SYMPTOMS_REPLY:
            return
        parts = question_parts(doc)
        # One part is worth a look when it is not the whole message: the question
        # after a greeting ("hello, how many sessions do I need?"). Without its
        # "and", "and for acne scars?" would lose its sense of a follow-up.
        whole = len(parts) == 1 and parts[0].text == without_joiners(doc[:]).text
        if whole or not 1 <= len(parts) <= MAX_PARTS:
            return
        questions = self._answerable(parts)
        topics = [q for q in questions if q[INTENT].startswith(FAQ_INTENT_PREFIX)]
        if not topics:
            return
        if len(questions) >= 2:
            message.set(QUESTIONS_KEY, questions, add_to_output=True)
        elif (
            intent
            and intent.startswith(ANSWERABLE_PREFIXES)
            and float(predicted.get(PREDICTED_CONFIDENCE_KEY) or 0) >= topics[0]["confidence"]
        ):
            return
        # Either several questions, or one question next to a follow-up or a
        # greeting ("what about after, can I go running?") that the classifier
        # is surer of than of the whole message: the first topic becomes the
        # message's intent, so the FAQ rule fires.
        first = {
            INTENT_NAME_KEY: topics[0][INTENT],
            PREDICTED_CONFIDENCE_KEY: topics[0]["confidence"],
        }
        message.set(INTENT, first, add_to_output=True)

    def _answerable(self, parts: Sequence[Any]) -> List[Dict[str, Any]]:
        """The parts that are confidently an answerable question, a topic once."""
        questions: List[Dict[str, Any]] = []
        for part, result in zip(parts, self._classify(parts)):
            guess = result.get(INTENT) or {}
            name = guess.get(INTENT_NAME_KEY)
            confidence = float(guess.get(PREDICTED_CONFIDENCE_KEY) or 0)
            # A follow-up ("how long do they last") refers to the question before it.
            answerable = ANSWERABLE_PREFIXES + ((FOLLOW_UP_PREFIX,) if questions else ())
            if (
                name
                and name.startswith(answerable)
                and confidence > self.min_confidence
                and name not in {q[INTENT] for q in questions}
            ):
                questions.append({TEXT: part.text, INTENT: name, "confidence": confidence})
        return questions


def question_parts(doc: Any) -> List[Any]:
    """The parts of a message that look like questions, as spans of spaCy docs,
    in order; the cuts are sentence ends, a question opener after a joining
    word, and "and also" ("can it shrink my pores and also help with wrinkles")."""
    starts = {sentence.start for sentence in doc.sents}
    elided = set()  # parts that ask with the opener of the part before
    for token in doc[1:]:
        if doc[token.i - 1].lower_ in JOINERS and opens_question(doc[token.i : token.i + 2]):
            starts.add(token.i)
        elif token.i > 1 and [t.lower_ for t in doc[token.i - 2 : token.i]] == ["and", "also"]:
            starts.add(token.i)
            elided.add(token.i)
    bounds = sorted(starts | {0, len(doc)})
    parts: List[Any] = []
    for start, end in zip(bounds, bounds[1:]):
        part = without_joiners(doc[start:end])
        if start in elided and parts:
            part = with_opener(parts[-1], part)
        parts.append(part)
    return [part for part in parts if len(part) and is_question(part)]


def with_opener(before: Any, part: Any) -> Any:
    """The part asked with the "can it" / "does it" the part before opens with:
    "help with wrinkles" after "can it shrink my pores" is "can it help with
    wrinkles". Unchanged when the part before opens otherwise."""
    opener = before[:2]
    if not len(part) or before[0].lower_ not in AUXILIARIES or not opens_question(opener):
        return part
    return Doc.from_docs([opener.as_doc(), part.as_doc()], ensure_whitespace=True)[:]


def without_joiners(span: Any) -> Any:
    """The span without the joining words at either end ("also", ", and")."""
    start, end = 0, len(span)
    while start < end and span[start].lower_ in JOINERS:
        start += 1
    while end > start and span[end - 1].lower_ in JOINERS:
        end -= 1
    return span[start:end]


def opens_question(words: Any) -> bool:
    """Whether a question starts with these (one or two) tokens."""
    first = words[0].lower_
    if first in WH_WORDS:
        return True
    if first not in AUXILIARIES or len(words) < 2 or words[1].lower_ not in SUBJECTS:
        return False
    return (first, words[1].lower_) != ("do", "it")  # "and do it at home": no question


def is_question(span: Any) -> bool:
    """A part that ends with "?" or starts like a question ("do stretch marks...")."""
    first = span[0].lower_
    return span.text.endswith("?") or first in WH_WORDS or first in AUXILIARIES
