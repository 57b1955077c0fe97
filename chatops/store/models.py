"""Tables. Times are stored as UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class PlanRow(Base):
    __tablename__ = "plans"

    task_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    runbook: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("plans.task_id"), index=True)
    plan_hash: Mapped[str] = mapped_column(String(64))
    runbook: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    service: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[str | None] = mapped_column(String(64))
    queue_key: Mapped[str] = mapped_column(String(140), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    current_step: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    rollback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set to queue_key while running, NULL otherwise: the unique index makes
    #: "one run at a time per service+environment" a database fact.
    active_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    #: A scheduled start (the plan's `start`): a queued run is not claimed before it.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The inventory's site of its hosts: only workers of that site claim it.
    site: Mapped[str | None] = mapped_column(String(64))


class StepRunRow(Base):
    __tablename__ = "step_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    phase: Mapped[str] = mapped_column(String(10))
    step_id: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(64))


class StepOutputRow(Base):
    __tablename__ = "step_output"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("step_runs.id"), index=True)
    data: Mapped[str] = mapped_column(Text)


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("run_id", "plan_hash", "step_key", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    plan_hash: Mapped[str] = mapped_column(String(64))
    step_key: Mapped[str] = mapped_column(String(40))  # "" for the plan itself
    user_id: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_id: Mapped[str | None] = mapped_column(String(100))
    plan_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str | None] = mapped_column(String(64))  # see store/audit_chain.py
    hash: Mapped[str | None] = mapped_column(String(64))


class DeliveryRow(Base):
    """Keys of Slack deliveries already handled (event ids, action+message+user)."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SlackMessageRow(Base):
    """Where a run lives in Slack: its channel, plan message and status message."""

    __tablename__ = "slack_messages"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    plan_ts: Mapped[str] = mapped_column(String(40))
    status_ts: Mapped[str | None] = mapped_column(String(40))


class SlackPromptRow(Base):
    """A message of a run's thread that carries buttons for people (Mark done, a gate, an
    escalation's answers): retired with a closing line when the run ends."""

    __tablename__ = "slack_prompts"

    ts: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    #: "run" (retired when the run ends) or "postmortem" (when it is written)
    about: Mapped[str] = mapped_column(String(20), default="run", server_default="run")


class PostMortemRow(Base):
    """A hotfix's post-mortem and its reminder state (the truth the scheduler rebuilds from)."""

    __tablename__ = "postmortems"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    service: Mapped[str | None] = mapped_column(String(64))
    owners: Mapped[str] = mapped_column(String(400))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    author: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[str] = mapped_column(Text, default="{}")


class HomeUserRow(Base):
    """People who opened the App Home: their view is republished when things change."""

    __tablename__ = "home_users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventRow(Base):
    """The outbox: every domain event, written in the transaction of the change it tells
    about. Ids are handed out in commit order (see store/outbox.py)."""

    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused after a prune

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)


class ConsumerRow(Base):
    """How far each consumer of the outbox has got, and which process holds it now."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AgentRow(Base):
    """AI agents (the Architect, the Coder): their scope, and only the hash of their token."""

    __tablename__ = "agents"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    services: Mapped[str] = mapped_column(Text, default="")
    processes: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acts_for: Mapped[str] = mapped_column(Text, default="")  # Slack user ids, comma-separated


class FreezeRow(Base):
    """Ad hoc change freezes (`/freeze`): in force from starts_at until ends_at or lifted_at."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str | None] = mapped_column(String(63))  # None: every service
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(64))


class HealthProbeRow(Base):
    """One row per process, rewritten by /healthz: proof that the store takes writes."""

    __tablename__ = "health_probes"

    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboxRow(Base):
    """A Slack request acknowledged with 200, kept until it has been handled: a process that
    dies between the ack and the work leaves it here for the next one."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    holder: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class WorkerRow(Base):
    """A process that executes runs (`chatops serve`, `chatops worker`, a `--here` terminal),
    alive while it beats: a run's owner is one of these, and only these claim runs."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the runs' owner token
    kind: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    #: boot id, pid namespace and start time: a pid is checked only where it means the same
    process_key: Mapped[str] = mapped_column(String(255), default="")
    site: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
