"""What arrives at POST /slack/events is checked before bolt sees it: signed, readable as
UTF-8 and JSON or a form, and shaped like the kind of request it says it is.

A request that fails gets a 4xx and one log line, never a 500: bolt would raise while
parsing it (invalid UTF-8, a payload that is not JSON), or a listener would, reading a field
that is not there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from chatops.slack.transport.inbox import key_of

log = logging.getLogger(__name__)

INTERACTIVE = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
}


MAX_SKEW = 60 * 5


class Signature:
    """Slack's v0 request signature, checked over the raw bytes (slack_sdk's verifier decodes
    the body first, and fails on bytes that are not UTF-8)."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._clock = clock

    def valid(self, body: bytes, headers: Mapping[str, str]) -> bool:
        stamp = headers.get("x-slack-request-timestamp", "")
        given = headers.get("x-slack-signature", "")
        if not stamp.isdigit() or abs(self._clock() - int(stamp)) > MAX_SKEW:
            return False
        base = b"v0:" + stamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _str(d: Mapping[str, Any], key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise Refused(400, f"{where}{key} is missing or not a string")
    return v


def _dict(d: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    v = d.get(key)
    if not isinstance(v, dict):
        raise Refused(400, f"{where}{key} is missing or not an object")
    return v


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The request's content, as bolt will read it; Refused(400) when it cannot be read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    try:
        if content_type.startswith("application/json") or text.startswith("{"):
            data = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            data = json.loads(form["payload"]) if "payload" in form else form
    except (json.JSONDecodeError, ValueError):
        raise Refused(400, "the body or its payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the payload is not a JSON object")
    return data


def check_shape(data: Mapping[str, Any]) -> None:
    """Refused(400) unless the request has what its kind needs."""
    if "command" in data:  # a slash command
        _str(data, "command", "")
        _str(data, "user_id", "")
        _str(data, "channel_id", "")
        return
    if "ssl_check" in data:
        return
    kind = data.get("type")
    if kind == "url_verification":
        _str(data, "challenge", "")
        return
    if kind == "event_callback":
        event = _dict(data, "event")
        _str(event, "type", "event.")
        return
    if kind in INTERACTIVE:
        _str(_dict(data, "user"), "id", "user.")
        for key in ("view", "channel", "container", "message"):
            if key in data and not isinstance(data[key], dict | None):
                raise Refused(400, f"{key} is not an object")
        if kind == "block_actions":
            actions = data.get("actions")
            if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
                raise Refused(400, "actions is missing or empty")
            _str(actions[0], "action_id", "actions[0].")
        if kind in ("view_submission", "view_closed"):
            view = _dict(data, "view")
            _str(view, "type", "view.")
            _str(view, "callback_id", "view.")
            if not isinstance(view.get("private_metadata", ""), str):
                raise Refused(400, "view.private_metadata is not a string")
        return
    raise Refused(400, f"unknown request type {str(kind)[:40]!r}")


@dataclass(frozen=True)
class Screened:
    """What the HTTP layer knows of a request before bolt sees it."""

    refused: tuple[int, str] | None = None
    ack_now: bool = False  # its listener's ack carries nothing: answer 200 at once
    key: str | None = None  # Slack's id for it (a trigger or event id): the inbox's key


def screen(signature: Signature, body: bytes, headers: Mapping[str, str]) -> Screened:
    """Refused (status, reason) with one log line, or the request may go to bolt.
    `headers` must look names up without regard to case (as Starlette's do)."""
    try:
        if not signature.valid(body, headers):
            raise Refused(401, "invalid or missing signature")
        data = parse(body, headers.get("content-type", ""))
        check_shape(data)
    except Refused as r:
        log.warning("refused a request to /slack/events: %s (%d)", r.reason, r.status)
        return Screened(refused=(r.status, r.reason))
    return Screened(ack_now=acked_empty(data), key=key_of(data))


def acked_empty(data: Mapping[str, Any]) -> bool:
    """Slash commands, button clicks and events: every listener of chatops acks them with
    nothing, so the HTTP layer answers 200 as soon as the signature and the shape hold, and
    bolt handles them after. Forms (view_submission) and url_verification answer with content
    and wait for bolt."""
    return "command" in data or data.get("type") in ("block_actions", "event_callback")
