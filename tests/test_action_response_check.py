"""Rasa's check of action server responses with its schema checked once
(rasa_patches/action_response_check.py): the same verdicts and errors as Rasa's
own check, without checking the schema again for every response."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
from conftest import run, tracker_for
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from actions.actions import ActionAnswerFaq
from actions.knowledge import load_knowledge
from channels.rest import CheckedRestInput
from rasa_patches.action_response_check import (
    _VALIDATOR_CLASS,
    check_with_schema_checked_once,
    rasa_check,
)

ACTION = RemoteAction("action_answer_faq", None)

MALFORMED = [
    {"events": "slot"},
    {"events": [{"name": "last_topic", "value": "pain"}]},  # no "event"
    {"events": [{"event": "slot", "timestamp": "yesterday"}]},
    {"responses": {"text": "Hi"}},
]


@pytest.fixture
def sent_by_our_action_server(write_knowledge: Callable[..., Path]) -> Callable[..., Any]:
    """The response body the action server sends for an intent, as JSON decodes it."""

    async def respond(intent: str) -> Dict[str, Any]:
        action = ActionAnswerFaq(load_knowledge(write_knowledge()))
        messages, events = await run(action, tracker_for(intent))
        return dict(json.loads(json.dumps({"events": events, "responses": messages})))

    return respond


@pytest.mark.parametrize("intent", ["faq_sessions", "faq_price"])
async def test_our_action_servers_responses_pass_both_checks(
    sent_by_our_action_server: Callable[..., Any], intent: str
) -> None:
    response = await sent_by_our_action_server(intent)
    assert response["events"] or response["responses"]
    assert rasa_check(ACTION, response) is True
    assert check_with_schema_checked_once(ACTION, response) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_a_malformed_response_gets_rasas_own_error(response: Dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as rasas:
        rasa_check(ACTION, response)
    with pytest.raises(ValidationError) as ours:
        check_with_schema_checked_once(ACTION, response)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_the_schema_is_not_checked_again_for_each_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = []
    monkeypatch.setattr(
        _VALIDATOR_CLASS, "check_schema", classmethod(lambda cls, schema: checked.append(schema))
    )
    response: Dict[str, Any] = {"events": [], "responses": [{"text": "Hello"}]}
    rasa_check(ACTION, response)
    assert len(checked) == 1  # Rasa's own check does it every time
    check_with_schema_checked_once(ACTION, response)
    check_with_schema_checked_once(ACTION, response)
    assert len(checked) == 1


def test_the_rest_channel_installs_it_when_the_server_creates_the_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", rasa_check)
    CheckedRestInput.from_credentials(None)
    assert RemoteAction.__dict__["_validate_action_result"] is check_with_schema_checked_once
