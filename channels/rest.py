"""Rasa's REST channel with every request checked before it reaches the bot.

Rasa's own `RestInput` answers a request without a message with an empty list,
shares one conversation ("default") among all requests without a sender, fails
with a 500 on a JSON body that is not an object, and lets spaCy refuse a text
over a million characters. Here such requests get a clear 400, and the text is
cleaned (control characters, NUL bytes) and cut to a length no question needs.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
# C0 controls and DEL, keeping tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_message(text: str) -> str:
    return _CONTROL.sub("", text)[:MAX_MESSAGE_CHARS]


def problem_with(body: Any) -> Optional[str]:
    """Why a webhook request body cannot be handled, or None when it can."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object with 'sender' and 'message'."
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip():
        return "'sender' must be a non-empty string that identifies the conversation."
    if len(sender) > MAX_SENDER_CHARS or _CONTROL.search(sender):
        return f"'sender' must be at most {MAX_SENDER_CHARS} printable characters."
    if not isinstance(message, str):
        return "'message' must be a string."
    return None


class CheckedRestInput(RestInput):
    """Serves the same URL as Rasa's REST channel: /webhooks/rest/webhook."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint: Blueprint = super().blueprint(on_new_message)

        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            problem = problem_with(request.json)  # a body that is not JSON gets Sanic's 400
            if problem:
                return response.json({"error": problem}, status=400)
            request.json["message"] = clean_message(request.json["message"])
            return None

        blueprint.on_request(check)  # type: ignore[no-untyped-call]  # Sanic 21 is untyped here
        return blueprint
