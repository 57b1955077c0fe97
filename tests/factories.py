"""Small builders shared by tests: plans, wired services with fakes of our own ports."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chatops.adapters.clock import ManualClock
from chatops.engine.approvals.changes import ChangeService
from chatops.engine.domain.events import Recorder
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import EventLog, OutputCallback
from chatops.engine.runs.queries import Queries
from chatops.engine.runs.runner import Runner
from chatops.engine.unit_of_work import Transactions
from chatops.store.opened import store as sql_store
from chatops.wiring import core
from tests.memory import MemoryDatabase

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
    settled: dict[str, int | None] = field(default_factory=dict)  # job -> exit (None: unknown)
    keys: dict[str, str] = field(default_factory=dict)  # host -> its key's fingerprint

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
        job: str | None = None,
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

    def host_key(self, host: Host, session: str | None = None) -> str:
        return self.keys.get(host.name, "SHA256:known")

    def probe(self, host: Host) -> CommandResult:
        return CommandResult(host.name, "true", "ok", 0, "", 0.0)

    def settle(self, host: Host, job: str, timeout: float) -> CommandResult | None:
        with self.lock:
            self.calls.append((host.name, f"settle {job}"))
        if job not in self.settled:
            return None
        code = self.settled[job]
        if code is None:
            return CommandResult(host.name, job, "unknown", None, "", 0.0, "still away", job=job)
        outcome = "ok" if code == 0 else "failed"
        return CommandResult(host.name, job, outcome, code, "", 0.0)


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


class VirtualTime:
    """Seconds that pass only when slept: how a test waits out a store outage without
    waiting. `at(t, fn)` runs `fn` (on a thread of its own, as a timer would) once the
    sleeping passes `t`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._alarms: list[tuple[float, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def at(self, when: float, fn: Callable[[], None]) -> None:
        with self._lock:
            self._alarms.append((when, fn))

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            due = [a for a in self._alarms if a[0] <= self.now]
            self._alarms = [a for a in self._alarms if a[0] > self.now]
        for _when, fn in sorted(due, key=lambda a: a[0]):
            t = threading.Thread(target=fn)
            t.start()
            t.join()


@dataclass
class AuditReader:
    queries: Queries

    def for_run(self, run_id: int) -> list[AuditEvent]:
        return self.queries.audit_for_run(run_id)

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        return self.queries.recent_audit(limit)


@dataclass
class Rig:
    changes: ChangeService
    runner: Runner
    store: Queries
    audit: AuditReader
    clock: ManualClock
    executor: FakeExecutor
    http: FakeHttp
    events: Events
    tx: Transactions

    def approve_all(self, run_id: int, *users: str) -> None:
        run = self.store.get_run(run_id)
        for u in users:
            self.changes.approve(run_id, u, run.plan_hash)

    def audit_actions(self, run_id: int) -> list[str]:
        return [e.action for e in self.audit.for_run(run_id)]


def rig(
    db: str | MemoryDatabase,
    config: Config,
    runbooks: dict[str, Runbook],
    executor: FakeExecutor | None = None,
    http: FakeHttp | None = None,
    owner: str = "test-owner",
    sleep: Callable[[float], None] = lambda _s: None,
    store_patience: float = 120.0,
    store_time: VirtualTime | None = None,
) -> Rig:
    """The engine's services over an in-memory store (a MemoryDatabase, which two rigs may
    share) or over SQL (a database URL)."""
    clock = ManualClock(NOW)
    events_log: EventLog
    if isinstance(db, MemoryDatabase):
        tx, events_log = db.transactions(clock), db
    else:
        opened = sql_store(db, clock)
        tx, events_log = opened.tx, opened.events
    events = Events()
    tx.listeners.append(events)
    ex = executor or FakeExecutor()
    h = http or FakeHttp()
    built = core(  # as bootstrap builds them for every process, over these ports
        config=config,
        runbooks=runbooks,
        tx=tx,
        clock=clock,
        roles=Roles(config),
        executors={"ssh": ex, "local": ex},
        http=h,
        owner=owner,
        events=events_log,
        sleep=sleep,
        store_patience=store_patience,
        store_waits=None if store_time is None else (store_time.sleep, store_time.monotonic),
    )
    store = built.queries
    return Rig(built.changes, built.runner, store, AuditReader(store), clock, ex, h, events, tx)


class Each:
    """One repository whose every call is a transaction of its own (store tests, and tests
    that play a process that claims a run and dies)."""

    def __init__(self, tx: Transactions, repo: str) -> None:
        self._tx = tx
        self._repo = repo

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._tx() as t:
                result = getattr(getattr(t, self._repo), name)(*args, **kwargs)
                t.commit()
                return result

        return call


def sql(url: str) -> Transactions:
    return sql_store(url, ManualClock(NOW)).tx


def answers_for(process: str) -> dict[str, str]:
    """An answer to each planning question of a shipped runbook: for tests about something
    else (an unanswered required question blocks approval; tests/e2e/test_questions.py)."""
    from chatops.adapters.config_files import load_runbooks
    from tests.conftest import ROOT

    return {q.id: f"the {q.id}" for q in load_runbooks(ROOT / "commands")[process].questions}


def answer_flags(process: str) -> list[str]:
    """The same answers as the CLI's `--answer ID=TEXT` flags."""
    return [f for k, v in answers_for(process).items() for f in ("--answer", f"{k}={v}")]


def run_of(plan_kind: str = "deploy") -> RunView:
    """A run awaiting approval, for the words and layout a run is shown in."""
    return RunView(
        1,
        "t",
        "h" * 64,
        plan_kind,
        plan_kind,
        "eckwms-global",
        "production",
        RunState.AWAITING_APPROVAL,
        "U_CODER",
        NOW,
        NOW,
    )
