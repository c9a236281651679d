"""Rasa's check of action server responses, with its schema checked once.

Rasa's `RemoteAction` checks every action server response with
`jsonschema.validate`, which first checks Rasa's constant response schema
against JSON Schema's metaschema, on every message: the largest single cost
of the Rasa server under load (README "Measuring speed and memory" has the
before and after). `install()` makes it check responses with a
validator built once, of the class and schema `jsonschema.validate` uses. A
response that validator rejects goes on to Rasa's own check, so the error
raised and its message stay Rasa's.

This replaces a method of Rasa, which its API offers no other way to change.
Rasa Open Source 3.6.21 (pinned in requirements.in) is its last release, so the
method will not change under it. tests/test_action_response_check.py fails if
the method is gone, or if the two checks disagree on our action server's
responses or on malformed ones.
"""

from __future__ import annotations

from typing import Any, Dict

from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_SCHEMA = RemoteAction.action_response_format_spec()
_VALIDATOR_CLASS = validator_for(_SCHEMA)
_VALIDATOR_CLASS.check_schema(_SCHEMA)
_VALIDATOR = _VALIDATOR_CLASS(_SCHEMA)
rasa_check = RemoteAction.__dict__["_validate_action_result"]


def check_with_schema_checked_once(action: RemoteAction, result: Dict[str, Any]) -> bool:
    if _VALIDATOR.is_valid(result):
        return True
    return bool(rasa_check(action, result))  # raises Rasa's error


def install() -> None:
    """Make every `RemoteAction` of this process check responses this way."""
    RemoteAction._validate_action_result = check_with_schema_checked_once
