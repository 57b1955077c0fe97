"""`chatops serve` in Socket Mode, as a process, against local stand-ins for Slack's Web API
and its Socket Mode WebSocket: a /change and an Approve arrive as envelopes and are acked
within 3 s; a refresh (disconnect, closed socket) is followed by a reconnect and the next
envelope is acked; with the WebSocket gone /healthz turns 503 after the grace period and
back to 200 when it returns. The port serves /healthz, /metrics and the web pages (a run's,
/insights), no Slack endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatops.simulator.harness import BOT_TOKEN, SlackSim
from chatops.simulator.standin import SlackStandIn
from tests.faults import wait_for
from tests.socket_standin import SocketStandIn, free_port

APP_TOKEN = "xapp-1-A0TEST-0000000000-" + "0" * 32
GRACE = 2


class SocketSim(SlackSim):
    """Talks to the app as Slack does in Socket Mode: envelopes over the WebSocket."""

    def __init__(self, web: SlackStandIn, socket: SocketStandIn, channel: str = "C0CHANGES"):
        self._begin(web, channel)
        self.socket = socket
        self.last: str | None = None

    def _form(self, data: dict[str, str], **_kw: Any) -> tuple[int, str]:
        if "payload" in data:
            self.last = self.socket.envelope("interactive", json.loads(data["payload"]))
        else:
            self.last = self.socket.envelope("slash_commands", dict(data))
        return 200, ""

    def acked(self) -> float:
        assert self.last is not None
        return self.socket.acked_within(self.last, 3.0)


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def connected(port: int) -> bool:
    status, body = get(port, "/healthz")
    return status == 200 and json.loads(body).get("slack") == "connected"


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[SocketSim, int]]:
    web = SlackStandIn().start()
    socket = SocketStandIn().start()
    web.socket_url = socket.url
    port = free_port()
    e = {
        **env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "CHATOPS_SLACK_API_URL": web.api_url,
        "CHATOPS_SOCKET_GRACE": str(GRACE),
        "CHATOPS_SOCKET_PING": "1",
        "CHATOPS_LINK_SECRET": "a-secret-for-socket-mode-links",
    }
    e.pop("SLACK_SIGNING_SECRET", None)
    log = Path(env["CHATOPS_CONFIG"]).parent / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--mode", "auto", "--port", str(port)],
            env=e,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: connected(port), 30, "serve did not connect")
        yield SocketSim(web, socket), port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        socket.stop()
        web.stop()
        if os.environ.get("CHATOPS_SHOW_SERVE_LOG"):
            print(log.read_text())


def test_envelopes_are_acked_and_a_refresh_reconnects(served: tuple[SocketSim, int]) -> None:
    slack, port = served
    status, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["slack"] == "connected"
    assert get(port, "/slack/events")[0] == 404  # no Slack endpoint here: health, metrics, pages

    slack.command("/change", "deploy service=web ref=v2 -- over the socket", user="U_CODER")
    assert slack.acked() < 3.0
    wait_for(lambda: slack.plans(), 20, "the plan was not posted")
    slack.click("chatops.approve", user="U_LEAD")
    assert slack.acked() < 3.0
    wait_for(
        lambda: any("Approved by" in m.all_text() for m in slack.standin.messages),
        20,
        "the approval did not reach the plan",
    )
    slack.click("chatops.view", user="U_LEAD", message=slack.plans()[0])  # the run's page
    [said] = wait_for(
        lambda: [t for t in slack.standin.ephemerals("U_LEAD") if "View run" in t], 20
    )
    url = said.split("<", 1)[1].split("|", 1)[0]
    assert url.startswith(f"http://127.0.0.1:{port}/runs/1?t=")  # served on this port
    code, html = get(port, url.split(str(port), 1)[1])
    assert code == 200 and "Run #1" in html
    assert get(port, "/insights?t=nothing")[0] == 403

    slack.socket.refresh()
    wait_for(lambda: slack.socket.connections >= 2, 20, "the app did not reconnect")
    wait_for(lambda: connected(port), 10, "not connected after the refresh")
    slack.command("/status", "web", user="U_ONCALL")
    assert slack.acked() < 3.0

    def reconnects() -> float:
        found = re.search(
            r"^chatops_socket_reconnects_total (\S+)$", get(port, "/metrics")[1], re.M
        )
        return float(found.group(1)) if found else 0.0

    # one reconnect, or two when the closed socket was seen before the disconnect message; the
    # counter moves when the new session's id is seen (a scrape may come just before that)
    wait_for(lambda: reconnects() >= 1, 10, "the reconnect was not counted")
    metrics = get(port, "/metrics")[1]
    assert "chatops_socket_connected 1.0" in metrics
    assert "chatops_socket_seconds_since_envelope" in metrics


def test_healthz_tells_when_the_socket_is_gone_and_when_it_is_back(
    served: tuple[SocketSim, int],
) -> None:
    slack, port = served
    slack.socket.stop()
    gone = wait_for(lambda: (s := get(port, "/healthz"))[0] == 503 and s, 20, "still 200")
    state = json.loads(gone[1])
    assert state["status"] == "degraded" and "down for" in state["reason"]
    assert "chatops_socket_connected 0.0" in get(port, "/metrics")[1]
    slack.socket.start()  # Slack is back, on the same address
    wait_for(lambda: connected(port), 30, "not connected again")
    slack.command("/status", "web", user="U_ONCALL")
    assert slack.acked() < 3.0


class FakeSocket:
    """The SDK client's surface SocketHealth reads."""

    def __init__(self) -> None:
        self.on_message_listeners: list[Any] = []
        self.up = False
        self.session = "s1"

    def is_connected(self) -> bool:
        return self.up

    def session_id(self) -> str | None:
        return self.session if self.up else None


def test_socket_health_grace_reconnects_and_envelopes() -> None:
    from chatops.slack.transport.socket_health import SocketHealth

    now = [100.0]
    client = FakeSocket()
    health = SocketHealth(client, grace=60, now=lambda: now[0])
    ok, state = health.report()
    assert ok and state["slack"] == "disconnected for 0 s"  # starting: within the grace
    now[0] += 61
    ok, state = health.report()
    assert not ok and "down for 61 s" in str(state["reason"])
    client.up = True
    ok, state = health.report()
    assert ok and state["slack"] == "connected" and state["reconnects"] == 0
    client.up, client.session = False, "s2"
    health.look()
    now[0] += 30
    assert health.report()[0]  # down 30 s: still within the grace
    client.up = True
    for listener in client.on_message_listeners:
        listener('{"envelope_id": "e1", "type": "slash_commands"}')
        listener('{"type": "hello"}')
    now[0] += 2.5
    ok, state = health.report()
    assert ok and state["reconnects"] == 1 and state["seconds_since_envelope"] == 2.5


def test_an_envelope_acked_then_killed_is_handled_by_the_next_process(
    env: dict[str, str], postgres_url: str
) -> None:
    """Killed -9 after the ack of a /change, before it was handled (the table its handler
    needs is locked): the next serve, over the socket too, posts the plan, once."""
    import signal

    from sqlalchemy import create_engine, text

    from chatops.store.db import upgrade

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text('DROP DATABASE IF EXISTS "socketinbox"'))
        c.execute(text('CREATE DATABASE "socketinbox"'))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/socketinbox"
    upgrade(url)
    web = SlackStandIn().start()
    socket = SocketStandIn().start()
    web.socket_url = socket.url
    e = {
        **env,
        "CHATOPS_DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "CHATOPS_SLACK_API_URL": web.api_url,
        "CHATOPS_SOCKET_PING": "1",
        "CHATOPS_LINK_SECRET": "a-secret-for-socket-mode-links",
    }
    e.pop("SLACK_SIGNING_SECRET", None)

    def serve() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--mode", "socket", "--port", str(port)],
            env=e,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: connected(port), 30, "serve did not connect")
        return proc, port

    first, _ = serve()
    second = None
    try:
        slack = SocketSim(web, socket)
        hold = create_engine(url).connect()
        hold.execute(text("LOCK TABLE plans IN ACCESS EXCLUSIVE MODE"))
        slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
        assert slack.acked() < 3.0  # Slack saw it acknowledged
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        hold.rollback()
        hold.close()
        assert slack.plans() == []
        second, _ = serve()
        wait_for(lambda: slack.plans(), 30, "the next process did not post the plan")
        time.sleep(1)
        assert len(slack.plans()) == 1
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)
        socket.stop()
        web.stop()
