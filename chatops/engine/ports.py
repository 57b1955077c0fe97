"""The ports the engine talks through. Adapters (SQL store, SSH, Slack) implement them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chatops.engine.domain.events import Event
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import (
    ApprovalRecord,
    AuditEvent,
    RunState,
    RunView,
    StepRecord,
    StepState,
)
from chatops.engine.planning.freezes import Freeze
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import Plan

__all__ = [
    "Agents",
    "Approvals",
    "Audit",
    "Clock",
    "Consumer",
    "EventLog",
    "Executor",
    "Freezes",
    "Held",
    "HttpGetter",
    "Notifier",
    "Outbox",
    "OutputCallback",
    "Plans",
    "PostMortemStore",
    "Read",
    "Runs",
    "Steps",
    "Stored",
    "WorkerInfo",
    "Workforce",
]

OutputCallback = Callable[[str], None]
Held = Callable[[str | None, str, str], bool]  # (service, runbook, kind): may not start now


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
        job: str | None = None,
    ) -> CommandResult: ...

    def close_session(self, session: str) -> None: ...

    def probe(self, host: Host) -> CommandResult: ...

    def host_key(self, host: Host, session: str | None = None) -> str:
        """The fingerprint of the key the host presents ("SHA256:..."), as accepted against
        known_hosts (over the session's connection, if given); "none" where there is no key
        (a local host); "unreadable (why)" when it cannot be reached or its key is refused.
        Never raises."""
        ...

    def settle(self, host: Host, job: str, timeout: float) -> CommandResult | None:
        """What became of the command run as `job` (a `run(..., job=)` whose outcome was
        never learned): waits for it to end if it still runs (up to `timeout`) and returns
        how it really ended; `unknown` if the host cannot say now; None if there is nothing
        to learn (no such job on the host: it never started, or its end was reported)."""
        ...


class HttpGetter(Protocol):
    def get(self, url: str, timeout: float) -> tuple[int, str]: ...


class Notifier(Protocol):
    """Told about everything that happens to a run (Slack thread, terminal...)."""

    def publish(self, event: Event) -> None: ...


class Audit(Protocol):
    def append(self, event: AuditEvent) -> int: ...

    def for_run(self, run_id: int) -> list[AuditEvent]: ...

    def recent(self, limit: int = 100) -> list[AuditEvent]: ...


class Plans(Protocol):
    def add(self, plan: Plan) -> None:
        """Store a plan; the same task id with other content is an error."""
        ...

    def get(self, task_id: str) -> Plan: ...


class Runs(Protocol):
    def create(
        self, plan: Plan, state: RunState, now: datetime, error: str = "", site: str | None = None
    ) -> RunView:
        """A new run of `plan`; `site`: only workers of that site claim it."""
        ...

    def get(self, run_id: int) -> RunView: ...

    def for_task(self, task_id: str) -> RunView | None:
        """The newest run of this task (its revisions `task_id~N` included)."""
        ...

    def replace_plan(self, run_id: int, plan: Plan, now: datetime, site: str | None = None) -> bool:
        """Point a run not yet started at a revised plan; it awaits approval again."""
        ...

    def list(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]: ...

    def count_by_state(self) -> dict[str, int]: ...

    def transition(
        self,
        run_id: int,
        to: RunState,
        now: datetime,
        *,
        error: str | None = None,
        owner: str | None = None,
        keep_owner: bool = False,
        held_by: str | None = None,
    ) -> bool:
        """Compare-and-set: move the run to `to` if its state allows it (and, with
        `held_by`, while that owner holds it). False if it did not."""
        ...

    def claim_next(
        self, owner: str, now: datetime, held: Held | None = None, site: str | None = None
    ) -> RunView | None:
        """Atomically start the oldest queued run of `site` whose service+environment is
        free. A run `held` names (a change freeze) is not started, and keeps its queue
        waiting; a run scheduled later (`not_before` after `now`) is not started and keeps
        nothing waiting."""
        ...

    def claim_ready(self, owner: str, now: datetime, site: str | None = None) -> RunView | None:
        """Atomically take a run of `site` parked for a person who has acted (none of its
        steps waits any more): `owner` goes on with it."""
        ...

    def hold(self, run_id: int, owner: str, now: datetime) -> bool:
        """Does `owner` still hold the run? (Beats its heartbeat if so.)"""
        ...

    def take_over(self, run_id: int, dead: str, owner: str, now: datetime) -> bool:
        """A running run owned by `dead` (its worker died) becomes `owner`'s; False if
        another worker took it first or it moved on."""
        ...

    def next_start(self) -> datetime | None:
        """The earliest scheduled start (`not_before`) of a queued run, due or not."""
        ...

    def claim_parked(self, run_id: int, owner: str, now: datetime) -> bool: ...

    def park(self, run_id: int, owner: str, now: datetime, step_id: str) -> None: ...

    def set_current_step(self, run_id: int, step_id: str | None, now: datetime) -> None: ...

    def heartbeat(self, owner: str, now: datetime) -> None: ...

    def request_cancel(self, run_id: int) -> None: ...

    def request_rollback(self, run_id: int) -> None:
        """A lead asked for an interrupted run to be rolled back, not resumed."""
        ...

    def queue_position(self, run_id: int) -> int: ...


class Approvals(Protocol):
    def add(self, approval: ApprovalRecord) -> bool:
        """False if this user already approved this (run, step)."""
        ...

    def of_run(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]: ...

    def approved_by(self, user: str, run_ids: Sequence[int]) -> dict[int, str]:
        """Of these runs, those the user approved: run id -> the plan hash approved."""
        ...


class Steps(Protocol):
    def start(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        host: str,
        now: datetime,
        state: StepState = StepState.RUNNING,
    ) -> int: ...

    def finish(
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

    def output_page(self, step_run_id: int, after: int, limit: int) -> list[tuple[int, str]]:
        """Stored chunks after position `after` (a chunk's key), oldest first."""
        ...

    def output_tail(self, step_run_id: int, limit: int) -> list[tuple[int, str]]:
        """The last `limit` stored chunks, oldest first (what a live page shows)."""
        ...

    def of_run(self, run_id: int) -> list[StepRecord]: ...


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


class Agents(Protocol):
    def add(self, agent: Agent, token_hash: str) -> bool:
        """False if an agent of that name exists."""
        ...

    def get(self, name: str) -> Agent | None: ...

    def all(self) -> list[Agent]: ...

    def by_token_hash(self, token_hash: str) -> Agent | None: ...

    def revoke(self, name: str, now: datetime) -> bool:
        """False if it was revoked already (or does not exist)."""
        ...


class Freezes(Protocol):
    """Ad hoc change freezes (`/freeze`); the windows in chatops.yml are not stored."""

    def add(self, service: str | None, reason: str, by: str, start: datetime, end: datetime) -> int:
        """A freeze of `service` (None: every service) from `start` to `end`; its id."""
        ...

    def lift(self, service: str | None, by: str, now: datetime) -> int:
        """End the freezes of `service` (None: every one) now; how many were in force."""
        ...

    def active(self, now: datetime) -> list[Freeze]: ...


class Outbox(Protocol):
    """Events written in the transaction of the change they tell about."""

    def add(self, event: Event) -> None: ...


@dataclass(frozen=True)
class Stored:
    """An event as the outbox keeps it: its position in the stream, and the event."""

    id: int
    event: Event


@dataclass(frozen=True)
class Read:
    """One read of the outbox by a consumer: the events it wants, in order; the id of the
    last event read, wanted or not (its position once those are handled); and whether the
    read reached its limit (more may be waiting)."""

    stored: list[Stored]
    last: int
    full: bool


class Consumer(Protocol):
    """What a feed hands the stored events to, in order, from its own position."""

    def deliver(self, stored: Stored) -> None: ...

    def transient(self, exc: BaseException) -> bool:
        """Is this failure an outage to wait out (never a reason to skip the event)?"""
        ...


class EventLog(Protocol):
    """The outbox as its consumers read it. A consumer is held by one process at a time (a
    lease); its position is the last event it handled."""

    def after(self, position: int, limit: int = 500) -> list[Stored]: ...

    def read(self, position: int, limit: int, kinds: frozenset[str] | None = None) -> Read:
        """Up to `limit` events after `position`; only those of `kinds` (event type names)
        are decoded and handed back, the others only passed over (None: every event)."""
        ...

    def of_run(self, run_id: int, position: int = 0, limit: int = 500) -> list[Stored]:
        """One run's events after `position`, in order (what an agent follows)."""
        ...

    def head(self) -> int: ...

    def lease(self, consumer: str, holder: str, now: datetime, until: datetime) -> int | None:
        """Hold `consumer` until `until` unless another holder does; its position, or None."""
        ...

    def advance(self, consumer: str, holder: str, position: int) -> bool: ...

    def release(self, consumer: str, holder: str) -> None: ...


@dataclass(frozen=True)
class WorkerInfo:
    """A process that executes runs, as the registry knows it: its id (the owner token of the
    runs it claims), what it is (serve, worker, here), where, its site and its last beat."""

    id: str
    kind: str
    host: str
    pid: int
    site: str | None
    started_at: datetime
    beat_at: datetime
    process_key: str = ""
    config_hash: str = ""


class Workforce(Protocol):
    """Which workers are alive now: a decision taken where no worker runs says so."""

    def alive(self, site: str | None = None) -> list[WorkerInfo]:
        """The live workers that execute runs of `site` (None: runs without a site)."""
        ...
