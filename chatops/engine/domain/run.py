"""The run state machine and the records the engine reads back from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "ApprovalRecord",
    "AuditEvent",
    "RunState",
    "RunView",
    "S",
    "StepRecord",
    "StepState",
    "sources_of",
]


class RunState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_terminal(self) -> bool:
        return not TRANSITIONS[self]


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


S = RunState
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    S.AWAITING_APPROVAL: frozenset(
        {S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED, S.AWAITING_APPROVAL}
    ),
    S.APPROVED: frozenset({S.QUEUED, S.CANCELLED, S.AWAITING_APPROVAL}),
    # expired: a scheduled run that could not start in its time (engine/runs/scheduled.py)
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.AWAITING_APPROVAL, S.EXPIRED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.ROLLED_BACK, S.CANCELLED, S.INTERRUPTED}),
    S.INTERRUPTED: frozenset({S.QUEUED, S.CANCELLED, S.FAILED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.ROLLED_BACK: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def sources_of(target: RunState) -> frozenset[RunState]:
    """Every state from which `target` may be reached (for compare-and-set updates)."""
    return frozenset(s for s, nxt in TRANSITIONS.items() if target in nxt)


@dataclass(frozen=True)
class RunView:
    id: int
    task_id: str
    plan_hash: str
    runbook: str
    kind: str
    service: str | None
    environment: str | None
    state: RunState
    requester: str
    created_at: datetime
    updated_at: datetime
    current_step: str | None = None
    owner: str | None = None
    error: str = ""
    cancel_requested: bool = False
    heartbeat_at: datetime | None = None
    rollback_requested: bool = False
    not_before: datetime | None = None  # a scheduled start: not claimed before then

    @property
    def queue_key(self) -> str:
        return f"{self.service or '-'}:{self.environment or '-'}"

    @property
    def is_hotfix(self) -> bool:
        return self.kind == "hotfix"


@dataclass(frozen=True)
class StepRecord:
    id: int
    run_id: int
    phase: str
    step_id: str
    host: str
    state: StepState
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    tail: str = ""
    error: str = ""
    actor: str | None = None

    @property
    def code(self) -> str:
        """How it ended, in words: "HTTP 200" (the bot's own request, a health check),
        "exit 0" (a command), "" (not ended, or no code)."""
        if self.exit_code is None:
            return ""
        return f"HTTP {self.exit_code}" if self.host == "bot" else f"exit {self.exit_code}"


@dataclass(frozen=True)
class ApprovalRecord:
    run_id: int
    plan_hash: str
    user: str
    roles: tuple[str, ...]
    step_id: str | None
    at: datetime


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str
    action: str
    run_id: int | None = None
    task_id: str | None = None
    plan_hash: str | None = None
    detail: str = ""
    id: int | None = None
