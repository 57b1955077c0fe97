"""Slack as the app meets it, for the harness and for tests of an app running elsewhere:
requests signed exactly as Slack signs them (slash commands, clicks, form submissions,
events), and what the app said back, read from the Web API stand-in."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from chatops.simulator.standin import Message, SlackStandIn

__all__ = ["BOT_TOKEN", "SIGNING_SECRET", "RemoteSlack", "SlackSim", "bound", "sign"]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - a test value
BOT_TOKEN = "xoxb-000000000000-000000000000-testtesttesttesttesttest"  # noqa: S105


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def bound() -> socket.socket:
    """A loopback socket bound to a port of its own, for a server in this process: held from
    the start, no other process (or outgoing connection) can take the port in between."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


class SlackSim:
    """Talks to a chatops app as Slack does (signed requests), and reads what it said back
    through the Web API stand-in. Subclasses say where the app is and how to wait for it."""

    channel: str
    standin: SlackStandIn
    _ids: itertools.count[int]
    _run: str

    def _begin(self, standin: SlackStandIn, channel: str) -> None:
        self.standin = standin
        self.channel = channel
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]  # ids stay unique across restarts, as Slack's are

    @property
    def url(self) -> str:
        raise NotImplementedError

    def settle(self, timeout: float = 60, strict: bool = True) -> None:
        raise NotImplementedError

    # -- raw HTTP, signed as Slack signs it ------------------------------------------------
    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: dict[str, str] | None = None,
        path: str = "/slack/events",
    ) -> tuple[int, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        h = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret, ts, body),
            **(headers or {}),
        }
        req = urllib.request.Request(self.url + path, data=body, headers=h, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:  # noqa: S310
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def _form(self, data: dict[str, str], **kw: Any) -> tuple[int, str]:
        return self.post(
            urllib.parse.urlencode(data).encode(), "application/x-www-form-urlencoded", **kw
        )

    # -- a conversation --------------------------------------------------------------------
    def command(
        self, name: str, text: str, *, user: str, channel: str | None = None, **kw: Any
    ) -> tuple[int, str]:
        n = next(self._ids)
        return self._form(
            {
                "token": "unused",
                "team_id": "T0TEST",
                "team_domain": "test",
                "channel_id": channel or self.channel,
                "channel_name": "changes",
                "user_id": user,
                "user_name": user.lower(),
                "command": name,
                "text": text,
                "api_app_id": "A0TEST",
                "response_url": f"{self.standin.url}/response/{n}",
                "trigger_id": f"trigger-{self._run}-{n}-{user}",
            },
            **kw,
        )

    def mention(
        self,
        text: str,
        *,
        user: str,
        channel: str | None = None,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> tuple[int, str]:
        n = next(self._ids)
        body = {
            "token": "unused",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._run}{n:06d}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": user,
                "text": f"<@{self.standin.bot_user}> {text}",
                "ts": f"{1600000000 + n}.000200",
                "channel": channel or self.channel,
                "event_ts": f"{1600000000 + n}.000200",
            },
        }
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return self.post(json.dumps(body).encode(), "application/json", headers=headers)

    def find(self, action_id: str, value: str | None = None) -> Message:
        """The newest message with a button for this action."""
        for m in reversed(self.standin.messages):
            for b in m.buttons():
                if b["action_id"] == action_id and (value is None or b["value"] == value):
                    return m
        raise LookupError(f"no message has a {action_id} button")

    def click_payload(
        self, action_id: str, user: str, message: Message | None = None, value: str | None = None
    ) -> dict[str, Any]:
        m = message or self.find(action_id, value)
        button = next(
            b
            for b in m.buttons()
            if b["action_id"] == action_id and (value is None or b["value"] == value)
        )
        block_id = next(b.get("block_id", "") for b in m.blocks if button in b.get("elements", []))
        n = next(self._ids)
        return {
            "type": "block_actions",
            "team": {"id": "T0TEST"},
            "api_app_id": "A0TEST",
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
            "channel": {"id": m.channel, "name": "changes"},
            "container": {
                "type": "message",
                "message_ts": m.ts,
                "channel_id": m.channel,
                "is_ephemeral": False,
            },
            "message": {"ts": m.ts, "text": m.text, "blocks": m.blocks},
            "trigger_id": f"trigger-{self._run}-{n}-{user}",
            "response_url": f"{self.standin.url}/response/{n}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def send(self, payload: dict[str, Any]) -> tuple[int, str]:
        """Post an interaction payload (a click or a view submission) as Slack does."""
        return self._form({"payload": json.dumps(payload)})

    def click(
        self, action_id: str, *, user: str, message: Message | None = None, value: str | None = None
    ) -> tuple[int, str]:
        payload = self.click_payload(action_id, user, message, value)
        return self._form({"payload": json.dumps(payload)})

    def submit(self, view: dict[str, Any], values: dict[str, str], *, user: str) -> tuple[int, str]:
        """Submit a modal the bot opened, with {block_id: value} (selects by option value)."""
        state: dict[str, Any] = {}
        for block in view.get("blocks", []):
            bid = block.get("block_id")
            if bid not in values:
                continue
            el = block["element"]
            if el["type"] == "static_select":
                state[bid] = {
                    el["action_id"]: {
                        "type": "static_select",
                        "selected_option": {"value": values[bid]},
                    }
                }
            else:
                state[bid] = {el["action_id"]: {"type": "plain_text_input", "value": values[bid]}}
        payload = {
            "type": "view_submission",
            "team": {"id": "T0TEST"},
            "api_app_id": "A0TEST",
            "user": {"id": user, "username": user.lower()},
            "trigger_id": f"t-{next(self._ids)}",
            "view": {**view, "state": {"values": state}},
        }
        return self._form({"payload": json.dumps(payload)})

    # -- reading the conversation ----------------------------------------------------------
    def plans(self, channel: str | None = None) -> list[Message]:
        return [
            m
            for m in self.standin.channel(channel or self.channel)
            if any(b.get("type") == "header" for b in m.blocks)
        ]

    def thread(self, message: Message) -> list[Message]:
        return self.standin.thread(message.channel, message.ts)

    def ephemerals(self, user: str) -> list[str]:
        return self.standin.ephemerals(user)

    def opened_views(self) -> list[dict[str, Any]]:
        return [v["view"] for v in self.standin.views if v["kind"] in ("open", "update")]


class RemoteSlack(SlackSim):
    """The same conversation with an app running elsewhere (another process, a replica)."""

    def __init__(self, url: str, standin: SlackStandIn, channel: str = "C0CHANGES") -> None:
        self._url = url
        self._begin(standin, channel)

    @property
    def url(self) -> str:
        return self._url

    def settle(self, timeout: float = 60, strict: bool = True, quiet: float = 1.0) -> None:
        """Wait until the stand-in has heard nothing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.standin.calls), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            n = len(self.standin.calls)
            if n != seen:
                seen, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        if strict:
            raise TimeoutError("the app is still busy")
