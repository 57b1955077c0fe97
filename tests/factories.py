"""Small builders shared by tests: plans, wired services with fakes of our own ports."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chatops.clock import ManualClock
from chatops.engine.changes import ChangeService
from chatops.engine.config import Config
from chatops.engine.events import Recorder
from chatops.engine.inventory import Host
from chatops.engine.plan import Plan
from chatops.engine.planner import build_plan
from chatops.engine.ports import OutputCallback
from chatops.engine.result import CommandResult
from chatops.engine.roles import Roles
from chatops.engine.runbook import Runbook
from chatops.engine.runner import Runner
from chatops.store.audit import SqlAuditLog
from chatops.store.db import make_engine
from chatops.store.runs import SqlRunStore

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def plan_for(
    runbooks: dict[str, Runbook],
    config: Config,
    name: str = "deploy",
    requester: str = "U_CODER",
    **params: str,
) -> Plan:
    params = params or {"service": "eckwms-global"}
    return build_plan(runbooks[name], config, params, requester=requester, now=NOW)


@dataclass
class FakeExecutor:
    """Records commands; answers by rules (substring -> exit code, output)."""

    rules: list[tuple[str, int, str]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: list[str | None] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def close_session(self, session: str) -> None:
        self.closed.append(session)

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None = None,
        session: str | None = None,
    ) -> CommandResult:
        with self.lock:
            self.calls.append((host.name, command))
            self.sessions.append(session)
        code, out = 0, "ok\n"
        for needle, c, o in self.rules:
            if needle in command:
                code, out = c, o
                break
        on_output(out)
        return CommandResult(
            host.name,
            command,
            "ok" if code == 0 else "failed",
            code,
            out,
            0.01,
            "" if code == 0 else f"exit code {code}",
        )

    def probe(self, host: Host) -> CommandResult:
        return CommandResult(host.name, "true", "ok", 0, "", 0.0)


@dataclass
class FakeHttp:
    answers: list[tuple[int, str]] = field(default_factory=lambda: [(200, '{"status": "healthy"}')])
    urls: list[str] = field(default_factory=list)

    def get(self, url: str, timeout: float) -> tuple[int, str]:
        self.urls.append(url)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Events(Recorder):
    """Every event the engine raised, in order."""

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.seen]


@dataclass
class Rig:
    changes: ChangeService
    runner: Runner
    store: SqlRunStore
    audit: SqlAuditLog
    clock: ManualClock
    executor: FakeExecutor
    http: FakeHttp
    events: Events

    def approve_all(self, run_id: int, *users: str) -> None:
        run = self.store.get_run(run_id)
        for u in users:
            self.changes.approve(run_id, u, run.plan_hash)

    def audit_actions(self, run_id: int) -> list[str]:
        return [e.action for e in self.audit.for_run(run_id)]


def rig(
    db_url: str,
    config: Config,
    runbooks: dict[str, Runbook],
    executor: FakeExecutor | None = None,
    http: FakeHttp | None = None,
    owner: str = "test-owner",
    sleep: Callable[[float], None] = lambda _s: None,
) -> Rig:
    engine = make_engine(db_url)
    store, audit = SqlRunStore(engine), SqlAuditLog(engine)
    clock = ManualClock(NOW)
    events = Events()
    ex = executor or FakeExecutor()
    h = http or FakeHttp()
    changes = ChangeService(config, runbooks, store, audit, clock, Roles(config), events)
    runner = Runner(
        config, store, audit, clock, {"ssh": ex, "local": ex}, h, events, owner, sleep=sleep
    )
    return Rig(changes, runner, store, audit, clock, ex, h, events)
