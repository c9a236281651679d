"""Rasa's REST channel with every request checked before it reaches the bot,
and a reply by a deadline.

Rasa's own `RestInput` answers a request without a message with an empty list,
shares one conversation ("default") among all requests without a sender, fails
with a 500 on a JSON body that is not an object, and lets spaCy refuse a text
over a million characters. Here such requests get a clear 400, and the text is
cleaned (control characters, NUL bytes) and cut to a length no question needs.

When the action server is down, Rasa logs the error and the bot says nothing;
when it hangs, Rasa waits five minutes. Here the user gets the knowledge file's
`unavailable` message instead, within `reply_timeout` seconds (credentials.yml).
The turn still completes in the background, so the conversation stays whole.

A request may carry a `message_id` (kept on the user's message in the
conversation) and, when the client sends a message again because its reply
never arrived (a server died mid-turn), `"resend": true`. The channel then
looks for that message in the conversation, holding the conversation's lock:
if it was handled, the replies it got come back and nothing is handled twice.
Only resends are looked up, so the usual message costs no extra read.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.knowledge import load_knowledge
from rasa_patches import action_response_check

logger = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT = 3.0
MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128  # also the longest message id
MESSAGE_ID = "message_id"
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
    message_id = body.get(MESSAGE_ID)
    if message_id is not None and not (
        isinstance(message_id, str)
        and 0 < len(message_id) <= MAX_SENDER_CHARS
        and not _CONTROL.search(message_id)
    ):
        return f"'message_id' must be 1 to {MAX_SENDER_CHARS} printable characters."
    if body.get("resend") not in (None, True, False):
        return "'resend' must be true or false."
    if body.get("resend") and message_id is None:
        return "A message sent again ('resend': true) needs the 'message_id' it was sent with."
    return None


def replies_to(tracker: Optional[DialogueStateTracker], message_id: str) -> Optional[List[Any]]:
    """The bot messages that answered the user's message with this id, or None
    when the conversation does not hold that message."""
    replies: Optional[List[Any]] = None
    for event in tracker.events if tracker else ():
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif isinstance(event, BotUttered) and replies is not None:
            replies.append(event.message())
    return replies


class CheckedRestInput(RestInput):
    """Serves the same URL as Rasa's REST channel: /webhooks/rest/webhook."""

    def __init__(self, unavailable: str, reply_timeout: float = DEFAULT_REPLY_TIMEOUT) -> None:
        self.unavailable = unavailable
        self.reply_timeout = reply_timeout

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> CheckedRestInput:
        # Rasa creates its channels once, at start: the one place where our code
        # runs in every server that takes web traffic, before its first message.
        action_response_check.install()
        # A broken knowledge file stops the server here, before it takes a message.
        timeout = float((credentials or {}).get("reply_timeout", DEFAULT_REPLY_TIMEOUT))
        return cls(load_knowledge().unavailable, timeout)

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        message_id = request.json.get(MESSAGE_ID)
        return {MESSAGE_ID: message_id} if message_id else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def answer_in_time(message: UserMessage) -> None:
            message_id = (message.metadata or {}).get(MESSAGE_ID)
            if message_id:
                message.message_id = message_id
            turn = asyncio.ensure_future(on_new_message(message))
            turn.add_done_callback(_log_failure)
            try:
                await asyncio.wait_for(asyncio.shield(turn), self.reply_timeout)
            except asyncio.TimeoutError:
                logger.warning(
                    "No reply within %s s; sent the 'unavailable' message.", self.reply_timeout
                )
            except Exception:  # already logged by _log_failure
                pass
            collector = message.output_channel
            if isinstance(collector, CollectingOutputChannel) and not collector.messages:
                await collector.send_text_message(message.sender_id, self.unavailable)

        blueprint: Blueprint = super().blueprint(answer_in_time)

        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            problem = problem_with(request.json)  # a body that is not JSON gets Sanic's 400
            if problem:
                return response.json({"error": problem}, status=400)
            request.json["message"] = clean_message(request.json["message"])
            if request.json.get("resend"):
                return await replay(request)
            return None

        async def replay(request: Request) -> Optional[HTTPResponse]:
            """The replies a resent message already got, or None to handle it."""
            sender, message_id = request.json["sender"], request.json[MESSAGE_ID]
            agent = request.app.ctx.agent
            try:
                # The lock waits for a turn of this conversation still under way.
                async with agent.lock_store.lock(sender):
                    replies = replies_to(await agent.tracker_store.retrieve(sender), message_id)
            except LockError:  # held by a server that died: handle the message
                return None
            if replies is None:
                return None
            logger.info("A resent message was handled before; sent its stored replies.")
            collector = CollectingOutputChannel()
            for reply in replies:
                await collector.send_response(sender, reply)
            if not collector.messages:
                await collector.send_text_message(sender, self.unavailable)
            return response.json(collector.messages)

        blueprint.on_request(check)  # type: ignore[no-untyped-call]  # Sanic 21 is untyped here
        return blueprint


def _log_failure(turn: asyncio.Future[Any]) -> None:
    if not turn.cancelled() and turn.exception() is not None:
        logger.error("Handling a message failed: %r", turn.exception())
