"""What people and agents ask of the engine, as small typed values. Every front end (Slack,
the console, the CLI, the API, MCP) translates what it was given into one of these and
hands it to `Operations.handle`, which decides and does what follows (an approval that
completes the quorum starts the queue, a step marked done continues its run, ...): the
same command means the same thing from everywhere.

A command's type parameter is what `handle` answers for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from chatops.engine.approvals.changes import ApprovalStatus
from chatops.engine.approvals.parts import Requested
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.run import RunView

__all__ = [
    "AnswerEscalation",
    "Approve",
    "ApproveGate",
    "Cancel",
    "Command",
    "Escalate",
    "Import",
    "MarkDone",
    "Propose",
    "ProposeTask",
    "Reject",
    "ReportDone",
    "Request",
    "Resume",
    "Revise",
    "RollBack",
]

R = TypeVar("R", covariant=True)


class Command(Generic[R]):
    """A command whose handling answers an R."""


@dataclass(frozen=True)
class Request(Command[Requested]):
    """Plan `process` with `params` for `user`. `origin` says where it was asked (the front
    end that answers it: `slack:<channel>`). `taking_over`: the escalated run whose problem
    `user` (the architect) took over; the fix is asked on that run's requester's behalf."""

    process: str
    params: dict[str, str]
    user: str
    text: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    taking_over: int | None = None


@dataclass(frozen=True)
class Import(Command[Requested]):
    """Plan the Architect -> Coder task `data` (the seed's JSON, parsed)."""

    data: object
    user: str
    process: str | None = None
    params: dict[str, str] | None = None
    origin: str = ""


@dataclass(frozen=True)
class Revise(Command[Requested]):
    """The requester changes a plan not yet started (parameters, answers, its words), and
    says `why`; every approval of the old plan is void."""

    run_id: int
    user: str
    params: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    answers: dict[str, str] | None = None
    why: str = ""


@dataclass(frozen=True)
class Approve(Command[ApprovalStatus]):
    """Approve the plan `plan_hash` (the one the approver read) of run `run_id`."""

    run_id: int
    user: str
    plan_hash: str


@dataclass(frozen=True)
class Reject(Command[RunView]):
    run_id: int
    user: str
    reason: str


@dataclass(frozen=True)
class MarkDone(Command[RunView]):
    """A people's step is done (by `user`, a member of its role): the run goes on."""

    run_id: int
    step_id: str
    user: str


@dataclass(frozen=True)
class ApproveGate(Command[bool]):
    """An approval of a gate step; True when the gate passed (the run goes on)."""

    run_id: int
    step_id: str
    user: str


@dataclass(frozen=True)
class Escalate(Command[RunView]):
    """A diagnosis is escalated to the Architect, with why and what was found."""

    run_id: int
    user: str
    reason: str
    details: str = ""


@dataclass(frozen=True)
class AnswerEscalation(Command[RunView]):
    """The Architect answers an escalation: `take_over` (a fix plan follows) or `close`."""

    run_id: int
    user: str
    how: str
    reason: str = ""


@dataclass(frozen=True)
class Resume(Command[RunView]):
    """Queue an interrupted run again (a lead), from the step it stopped at."""

    run_id: int
    user: str


@dataclass(frozen=True)
class RollBack(Command[RunView]):
    """Roll an interrupted run back instead (a lead)."""

    run_id: int
    user: str


@dataclass(frozen=True)
class Cancel(Command[RunView]):
    """Cancel a run (its requester or a lead): a running command is stopped on its hosts."""

    run_id: int
    user: str


# -- agents: they propose and report, never approve (engine/domain/agent_rules.py) ----------
@dataclass(frozen=True)
class Propose(Command[Requested]):
    """An agent proposes `process` with a reason; people approve it in Slack."""

    agent: Agent
    process: str
    params: dict[str, str]
    reason: str
    on_behalf_of: str | None = None
    origin: str = ""
    answers: dict[str, str] | None = None


@dataclass(frozen=True)
class ProposeTask(Command[Requested]):
    """An agent proposes the seed's task JSON (its task_id is the idempotency key)."""

    agent: Agent
    task: object
    process: str | None = None
    params: dict[str, str] | None = None
    on_behalf_of: str | None = None
    origin: str = ""
    answers: dict[str, str] | None = None


@dataclass(frozen=True)
class ReportDone(Command[RunView]):
    """The Coder agent reports a coder step done, with its evidence: the run goes on."""

    agent: Agent
    run_id: int
    step_id: str
    evidence: Evidence
