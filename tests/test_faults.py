"""Faults while the assistant runs: the action server down or hanging, the Rasa
server restarted mid-conversation, a broken knowledge file at start, an
unwritable review store. Real processes, stopped and started inside the tests."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any, List

from conftest import ROOT, Assistant

from actions.knowledge import default_knowledge

KNOWLEDGE = default_knowledge()
PAIN = KNOWLEDGE.topics["pain"]
SESSIONS = KNOWLEDGE.topics["number_of_sessions"]


def answers(texts: List[str], topic: Any) -> bool:
    return any(text.startswith(topic.answer) for text in texts)


def test_action_server_down_gets_an_apology_then_answers_resume(assistant: Assistant) -> None:
    sender = f"down-{uuid.uuid4()}"
    assistant.stop(assistant.actions)
    elapsed, texts = assistant.say(sender, "does microneedling hurt?")
    print(f"apology after {elapsed:.2f} s with the action server down")
    assert texts == [KNOWLEDGE.unavailable]
    assistant.start_actions()
    _, texts = assistant.say(sender, "how many sessions will I need?")
    assert answers(texts, SESSIONS)


def test_hanging_action_server_gets_an_apology_and_the_turn_is_kept(
    assistant: Assistant,
) -> None:
    sender = f"hang-{uuid.uuid4()}"
    assert assistant.actions is not None
    assistant.actions.send_signal(signal.SIGSTOP)
    try:
        elapsed, texts = assistant.say(sender, "does microneedling hurt?")
        print(f"apology after {elapsed:.2f} s with the action server hanging")
    finally:
        assistant.actions.send_signal(signal.SIGCONT)
    assert texts == [KNOWLEDGE.unavailable]
    assert elapsed < 60, "the apology must not wait for Rasa's 5-minute action timeout"
    _, texts = assistant.say(sender, "how many sessions will I need?")
    assert answers(texts, SESSIONS)
    # The delayed answer to the first question was still recorded, before the second.
    bot_texts = [e.get("text") or "" for e in assistant.events(sender) if e["event"] == "bot"]
    first = next(i for i, t in enumerate(bot_texts) if t.startswith(PAIN.answer))
    second = next(i for i, t in enumerate(bot_texts) if t.startswith(SESSIONS.answer))
    assert first < second


def test_restarted_rasa_server_continues_the_conversation(assistant: Assistant) -> None:
    sender = f"restart-{uuid.uuid4()}"
    _, texts = assistant.say(sender, "does microneedling hurt?")
    assert texts[0] == KNOWLEDGE.disclaimer and answers(texts, PAIN)
    assistant.stop(assistant.rasa)
    assistant.start_rasa()
    assistant.wait_for_rasa()
    _, texts = assistant.say(sender, "how many sessions will I need?")
    assert KNOWLEDGE.disclaimer not in texts, "same conversation: the note is not repeated"
    assert answers(texts, SESSIONS)
    user_texts = [e["text"] for e in assistant.events(sender) if e["event"] == "user"]
    assert user_texts == ["does microneedling hurt?", "how many sessions will I need?"]


def test_a_message_sent_again_gets_its_replies_and_is_handled_once(assistant: Assistant) -> None:
    # The widget sends a message again, with its id, when the reply was lost.
    sender = f"resend-{uuid.uuid4()}"
    question = {"message_id": str(uuid.uuid4())}
    _, first = assistant.say(sender, "does it hurt and how many sessions?", **question)
    assert answers(first, PAIN) and answers(first, SESSIONS)
    _, again = assistant.say(sender, "does it hurt and how many sessions?", **question, resend=True)
    assert again == first
    # One whose first sending never arrived is handled as a new message.
    _, unseen = assistant.say(sender, "is it safe?", message_id=str(uuid.uuid4()), resend=True)
    assert answers(unseen, KNOWLEDGE.topics["safety"])
    _, after = assistant.say(sender, "is microneedling safe?")
    assert answers(after, KNOWLEDGE.topics["safety"])
    user_texts = [e["text"] for e in assistant.events(sender) if e["event"] == "user"]
    assert user_texts == [
        "does it hurt and how many sessions?",
        "is it safe?",
        "is microneedling safe?",
    ]


def test_rasa_server_refuses_to_start_with_a_broken_knowledge_file(
    assistant: Assistant, tmp_path: Path
) -> None:
    broken = tmp_path / "knowledge.yml"
    text = (ROOT / "data" / "knowledge.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("unavailable: >-", "unavailabel: >-"), encoding="utf-8")
    other = Assistant(tmp_path)
    process = other.start_rasa(KNOWLEDGE_FILE=str(broken))
    try:
        assert process.wait(timeout=180) != 0
    finally:
        other.stop(process)
    log = (tmp_path / "rasa.log").read_text()
    assert str(broken) in log and "'unavailable'" in log and "missing" in log


def test_unwritable_review_store_still_answers_and_logs_once(
    assistant: Assistant, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assistant.stop(assistant.actions)
    log = assistant.folder / "actions.log"
    before = log.read_text().count("Cannot record")
    assistant.start_actions(REVIEW_STORE=str(blocker / "review.db"))
    try:
        for question in ("how much does it cost?", "can I book for saturday?"):
            _, texts = assistant.say(f"store-{uuid.uuid4()}", question)
            assert texts[0] == KNOWLEDGE.replies["out_of_scope"].text
    finally:
        assistant.stop(assistant.actions)
        assistant.start_actions()
    assert log.read_text().count("Cannot record") - before == 1
