"""The ports the engine talks through. Adapters (SQL store, SSH, Slack) implement them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from chatops.engine.events import Event
from chatops.engine.inventory import Host
from chatops.engine.plan import Plan
from chatops.engine.postmortem import PostMortem
from chatops.engine.result import CommandResult
from chatops.engine.run import (
    ApprovalRecord,
    AuditEvent,
    RunState,
    RunView,
    StepRecord,
    StepState,
)

OutputCallback = Callable[[str], None]


class Clock(Protocol):
    def now(self) -> datetime: ...


class Executor(Protocol):
    """Runs one command on one host; never raises for remote failures, returns a result.

    Commands given the same `session` may share a connection per host (a run's steps do);
    `close_session` ends it. Without a session, each command stands alone."""

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None = None,
        session: str | None = None,
    ) -> CommandResult: ...

    def close_session(self, session: str) -> None: ...

    def probe(self, host: Host) -> CommandResult: ...


class HttpGetter(Protocol):
    def get(self, url: str, timeout: float) -> tuple[int, str]: ...


class Notifier(Protocol):
    """Told about everything that happens to a run (Slack thread, terminal...)."""

    def publish(self, event: Event) -> None: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> int: ...

    def for_run(self, run_id: int) -> list[AuditEvent]: ...

    def recent(self, limit: int = 100) -> list[AuditEvent]: ...


class RunStore(Protocol):
    def save_plan(self, plan: Plan) -> None: ...

    def load_plan(self, task_id: str) -> Plan: ...

    def create_run(
        self, plan: Plan, state: RunState, now: datetime, error: str = ""
    ) -> RunView: ...

    def get_run(self, run_id: int) -> RunView: ...

    def replace_plan(self, run_id: int, plan: Plan, now: datetime) -> bool:
        """Point a run not yet started at a revised plan; it awaits approval again."""
        ...

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]: ...

    def transition(
        self,
        run_id: int,
        to: RunState,
        now: datetime,
        *,
        error: str | None = None,
        owner: str | None = None,
        keep_owner: bool = False,
    ) -> bool:
        """Compare-and-set: move the run to `to` if its state allows it. False if it did not."""
        ...

    def add_approval(self, approval: ApprovalRecord) -> bool: ...

    def approvals(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]: ...

    def approved_by(self, user: str, run_ids: Sequence[int]) -> dict[int, str]:
        """Of these runs, those the user approved: run id -> the plan hash approved."""
        ...

    def claim_next(self, owner: str, now: datetime) -> RunView | None:
        """Atomically start the oldest queued run whose service+environment is free."""
        ...

    def claim_parked(self, run_id: int, owner: str, now: datetime) -> bool: ...

    def park(self, run_id: int, owner: str, now: datetime, step_id: str) -> None: ...

    def set_current_step(self, run_id: int, step_id: str | None, now: datetime) -> None: ...

    def heartbeat(self, owner: str, now: datetime) -> None: ...

    def request_cancel(self, run_id: int) -> None: ...

    def queue_position(self, run_id: int) -> int: ...

    def start_step(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        host: str,
        now: datetime,
        state: StepState = StepState.RUNNING,
    ) -> int: ...

    def finish_step(
        self,
        step_run_id: int,
        state: StepState,
        now: datetime,
        *,
        exit_code: int | None = None,
        tail: str = "",
        error: str = "",
        actor: str | None = None,
    ) -> None: ...

    def append_output(self, step_run_id: int, chunk: str) -> None: ...

    def output(self, step_run_id: int) -> str: ...

    def steps(self, run_id: int) -> list[StepRecord]: ...


class PostMortemStore(Protocol):
    def open(self, pm: PostMortem) -> bool:
        """Record a new post-mortem; False if the run has one already."""
        ...

    def get(self, run_id: int) -> PostMortem | None: ...

    def pending(self) -> list[PostMortem]: ...

    def all(self, service: str | None = None) -> list[PostMortem]: ...

    def claim_reminder(self, run_id: int, sent_before: int, now: datetime) -> bool:
        """Compare-and-set: count reminder number sent_before+1 as sent, once."""
        ...

    def claim_escalation(self, run_id: int, now: datetime) -> bool: ...

    def snooze(self, run_id: int, until: datetime) -> bool: ...

    def complete(
        self, run_id: int, author: str, answers: dict[str, str], now: datetime
    ) -> bool: ...
