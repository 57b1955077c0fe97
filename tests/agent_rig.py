"""The serve app (Slack over signed HTTP, the agents' API, /mcp) on the real sshd, with
agents added as `chatops agent add` adds them, and small clients for their side."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.servers import Sshd

CHANNEL = "C0CHANGES"
DEPLOY = {"service": "web", "ref": "v2"}


@dataclass
class AgentRig:
    slack: ChatHarness
    app: App
    config_path: Path
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, role: str, **kw: Any) -> str:
        kw.setdefault("acts_for", ("U_CODER",))  # whom the tests' agents act for
        _agent, token = self.slack.wired.agents.add(name, role, by="U_LEAD", **kw)
        self.tokens[name] = token
        return token

    def api(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, Any, dict[str, str]]:
        """One call to /api/v1: status, JSON body, headers."""
        h = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.slack.url}/api/v1{path}", data=data, headers=h, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null"), _lower(resp.headers)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None, _lower(e.headers)

    def until(self, check: Any, timeout: float = 60) -> Any:
        """Await a condition the app reaches on its own threads (polling the store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check()
            if got:
                return got
            time.sleep(0.05)
        raise TimeoutError("the condition was not reached")

    def audit(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.detail) for e in self.slack.wired.queries.recent_audit(500)]


@contextmanager
def agent_rig(
    tmp_path: Path, sshd: Sshd, agents: dict[str, Any] | None = None, drain: bool = True
) -> Iterator[AgentRig]:
    app = make_app(tmp_path / "app")
    with health_server(app) as url:
        cfg = service_config(app, url, [sshd.host("box-1")])
        cfg["agents"] = {"channel": CHANNEL, **(agents or {})}
        path = tmp_path / "chatops.yml"
        path.write_text(yaml.safe_dump(cfg))
        db = f"sqlite:///{tmp_path / 'c.db'}"
        slack = ChatHarness(
            config=path,
            commands=ROOT / "commands",
            database_url=db,
            channel=CHANNEL,
            throttle=0.2,
            slack_limits=ROOMY,
        )
        try:
            yield AgentRig(slack, app, path, db)
        finally:
            slack.stop(drain=drain)


def expired_token(rig: AgentRig, name: str) -> str:
    """A token that expired a moment ago (the system clock reads whole seconds)."""
    token = rig.add(name, "coder", expires=timedelta(milliseconds=1))
    [agent] = [a for a in rig.slack.wired.agents.list() if a.name == name]
    assert agent.expires_at is not None
    clock = rig.slack.wired.clock
    rig.until(lambda: clock.now() >= agent.expires_at, timeout=5)
    return token


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
