"""The HTTP layer answers a slash command, a click or an event as soon as its signature and
shape hold, before bolt runs the listener; a form's submission waits for bolt, whose answer
(its errors) it carries."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from slack_bolt import Ack, App
from slack_sdk import WebClient
from starlette.applications import Starlette

from chatops.simulator.harness import SIGNING_SECRET, sign
from chatops.simulator.slack_sim import bound
from chatops.simulator.standin import SlackStandIn
from chatops.slack.transport.http import asgi


class Served:
    def __init__(self, api: Starlette) -> None:
        self.api = api
        sock = bound()  # held from here: no other worker takes the port meanwhile
        self.port = int(sock.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(api, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        ts = str(int(time.time()))
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body,
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign(SIGNING_SECRET, ts, body),
            },
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()


@pytest.fixture
def served() -> Iterator[tuple[Served, threading.Event, list[str]]]:
    release, handled = threading.Event(), []
    standin = SlackStandIn().start()
    app = App(
        client=WebClient(token="xoxb-test", base_url=standin.api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        process_before_response=False,
    )

    @app.command("/change")
    def change(ack: Ack, command: dict[str, Any]) -> None:
        assert release.wait(10)  # the listener is still busy when the HTTP answer goes out
        ack()
        handled.append(command["text"])

    @app.view("form")
    def form(ack: Ack) -> None:
        ack(response_action="errors", errors={"reason": "say why"})

    s = Served(asgi(app, lambda: {"status": "ok"}, SIGNING_SECRET))
    s.thread.start()
    deadline = time.monotonic() + 10
    while not s.server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield s, release, handled
    release.set()
    s.server.should_exit = True
    s.thread.join(10)
    standin.stop()


def test_a_slash_command_is_acked_before_its_listener_runs(
    served: tuple[Served, threading.Event, list[str]],
) -> None:
    s, release, handled = served
    body = urllib.parse.urlencode(
        {
            "command": "/change",
            "text": "deploy web",
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T1",
            "trigger_id": "t1",
        }
    ).encode()
    status, answer = s.post(body, "application/x-www-form-urlencoded")
    assert (status, answer) == (200, b"")
    early = s.api.state.early
    assert early.pending and handled == []  # answered while the listener still waits
    release.set()
    deadline = time.monotonic() + 10
    while early.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handled == ["deploy web"]


def test_a_form_submission_waits_for_bolt_and_carries_its_errors(
    served: tuple[Served, threading.Event, list[str]],
) -> None:
    s, _release, _handled = served
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "form",
            "private_metadata": "",
            "state": {"values": {}},
        },
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    status, answer = s.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    assert json.loads(answer) == {"response_action": "errors", "errors": {"reason": "say why"}}
    assert not s.api.state.early.pending
