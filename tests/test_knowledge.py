"""The knowledge file: the real one is valid, and a broken one is refused with
a message naming the file, the entry and the field."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
from conftest import ROOT, SMALL_KNOWLEDGE

from actions.knowledge import KnowledgeError, load_knowledge


def test_project_knowledge_file_is_valid_and_covers_enough_topics() -> None:
    knowledge = load_knowledge()
    assert len(knowledge.topics) >= 30
    assert "nlu_fallback" in knowledge.replies


def test_every_answer_names_a_source_and_is_concise() -> None:
    for topic in load_knowledge().topics.values():
        assert topic.sources, topic.id
        words = len(topic.answer.split())
        assert 25 <= words <= 120, f"{topic.id}: {words} words"


def test_sources_refer_to_article_files_by_name_only() -> None:
    for topic in load_knowledge().topics.values():
        for source in topic.sources:
            assert "/" not in source.file, f"{source.id}: the file name, not a path"


def test_small_file_loads_with_sources_resolved(write_knowledge: Callable[..., Path]) -> None:
    knowledge = load_knowledge(write_knowledge())
    sessions = knowledge.topics["sessions"]
    assert [s.title for s in sessions.sources] == ["Alpha Article", "Beta Article"]
    assert sessions.related == ("pain", "safety")
    assert knowledge.topic_for_intent("faq_sessions") is sessions
    assert knowledge.topic_for_intent("sessions") is None
    assert knowledge.reply_for_intent("no_such_intent").text == "Not sure what you meant."


def _broken(change: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    document = copy.deepcopy(SMALL_KNOWLEDGE)
    change(document)
    return document


BROKEN = {
    "missing answer": (
        lambda d: d["topics"][0].pop("answer"),
        ("'pain'", "'answer'", "missing"),
    ),
    "empty question": (
        lambda d: d["topics"][1].update(question="  "),
        ("'sessions'", "'question'", "non-empty"),
    ),
    "unknown related id": (
        lambda d: d["topics"][0].update(related=["sessions", "nope"]),
        ("'pain'", "'related'", "'nope'"),
    ),
    "related to itself": (
        lambda d: d["topics"][0].update(related=["pain", "sessions"]),
        ("'pain'", "'related'", "'pain'"),
    ),
    "too few related": (
        lambda d: d["topics"][0].update(related=["sessions"]),
        ("'pain'", "'related'", "2 to 3"),
    ),
    "repeated related": (
        lambda d: d["topics"][0].update(related=["sessions", "sessions"]),
        ("'pain'", "'related'", "different"),
    ),
    "duplicate topic id": (
        lambda d: d["topics"][2].update(id="pain"),
        ("'pain'", "'id'", "duplicate"),
    ),
    "unknown source id": (
        lambda d: d["topics"][2].update(sources=["gamma"]),
        ("'safety'", "'sources'", "'gamma'"),
    ),
    "no source": (
        lambda d: d["topics"][2].update(sources=[]),
        ("'safety'", "'sources'", "at least one"),
    ),
    "misspelt field": (
        lambda d: d["topics"][1].update(relatd=["pain"]),
        ("'sessions'", "'relatd'", "unknown field"),
    ),
    "source without title": (
        lambda d: d["sources"][0].pop("title"),
        ("'alpha'", "'title'", "missing"),
    ),
    "suggestion of unknown topic": (
        lambda d: d["replies"]["greet"].update(suggest=["price"]),
        ("'replies.greet'", "'suggest'", "'price'"),
    ),
    "choice of unknown topic": (
        lambda d: d["replies"]["follow_up_after"].update(choices=["price"]),
        ("'replies.follow_up_after'", "'choices'", "'price'"),
    ),
    "reply with both suggestions and choices": (
        lambda d: d["replies"]["greet"].update(choices=["safety"]),
        ("'replies.greet'", "'choices'", "not both"),
    ),
    "no unavailable message": (
        lambda d: d.pop("unavailable"),
        ("'file'", "'unavailable'", "missing"),
    ),
    "no something-else button": (
        lambda d: d.pop("something_else"),
        ("'file'", "'something_else'", "missing"),
    ),
    "no feedback buttons": (
        lambda d: d.pop("feedback"),
        ("'file'", "'feedback'", "missing"),
    ),
    "feedback button without a title": (
        lambda d: d["feedback"].update(helpful=" "),
        ("'feedback'", "'helpful'", "non-empty text"),
    ),
    "follow-up with an unknown aspect": (
        lambda d: d["topics"][0].update(follow_ups={"how_much": "sessions"}),
        ("'pain'", "'follow_ups'", "'how_much'"),
    ),
    "follow-up to an unknown topic": (
        lambda d: d["topics"][0].update(follow_ups={"after": "aftercare"}),
        ("'pain'", "'follow_ups'", "'aftercare'"),
    ),
    "answer for an unknown concern": (
        lambda d: d["topics"][1]["by_concern"].update(acne={"answer": "x", "sources": ["alpha"]}),
        ("'sessions'", "'by_concern'", "'acne'"),
    ),
    "concern answer without a source": (
        lambda d: d["topics"][1]["by_concern"]["scars"].update(sources=[]),
        ("'sessions.by_concern.scars'", "'sources'"),
    ),
    "concern that is not a topic": (
        lambda d: d["concerns"].update(moles="moles"),
        ("'concerns'", "'moles'", "not a topic id"),
    ),
    "no-specific-answer note without the concern": (
        lambda d: d.update(no_specific_answer="Nothing specific."),
        ("'no_specific_answer'", "{concern}"),
    ),
    "no disclaimer": (
        lambda d: d.pop("disclaimer"),
        ("'file'", "'disclaimer'", "missing"),
    ),
    "topics not a list": (
        lambda d: d.update(topics={"pain": "x"}),
        ("'topics'", "non-empty list"),
    ),
}


# The replies every knowledge file must have: the fallback, "did you mean", the
# symptoms warning, the answer to "that didn't help" and the questions back for
# unclear follow-ups.
REQUIRED_REPLIES = (
    "nlu_fallback",
    "did_you_mean",
    "report_symptoms",
    "feedback_not_helpful",
    "follow_up_how_long",
    "follow_up_after",
    "follow_up_is_normal",
)
for _reply in REQUIRED_REPLIES:
    BROKEN[f"no {_reply} reply"] = (
        lambda d, reply=_reply: d["replies"].pop(reply),
        ("'replies'", f"'{_reply}'", "missing"),
    )


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_refused_naming_file_entry_and_field(
    case: str, write_knowledge: Callable[..., Path]
) -> None:
    change, expected = BROKEN[case]
    path = write_knowledge(_broken(change))
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_yaml_syntax_error_names_the_file(write_knowledge: Callable[..., Path]) -> None:
    path = write_knowledge(text="topics: [unclosed\n")
    with pytest.raises(KnowledgeError, match="not valid YAML") as error:
        load_knowledge(path)
    assert str(path) in str(error.value)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(KnowledgeError, match="cannot be read") as error:
        load_knowledge(path)
    assert str(path) in str(error.value)


def test_command_line_check_reports_a_broken_file(write_knowledge: Callable[..., Path]) -> None:
    path = write_knowledge(_broken(lambda d: d["topics"][0].pop("answer")))
    result = subprocess.run(
        [sys.executable, "-m", "actions.knowledge", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "'pain'" in result.stderr and "'answer'" in result.stderr


def test_action_server_refuses_to_start_with_a_broken_file(
    write_knowledge: Callable[..., Path],
) -> None:
    path = write_knowledge(_broken(lambda d: d["topics"][1].update(related=["pain", "prices"])))
    result = subprocess.run(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "KNOWLEDGE_FILE": str(path), "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"{path}: entry 'sessions', field 'related': unknown topic id 'prices'" in (
        result.stdout + result.stderr
    )


def test_side_effects_answer_says_when_to_contact_a_doctor() -> None:
    # Lasting symptoms the classifier takes for the side-effects question
    # ("the redness has lasted over a week") must still hear it.
    answer = load_knowledge().topics["side_effects"].answer
    assert "contact your doctor" in answer
