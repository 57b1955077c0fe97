"""Domain events: what happened to a run, as frozen dataclasses named in the past tense.

The engine raises them; consumers (the Slack thread, the App Home, metrics, post-mortems,
the terminal) handle the types they name. A consumer's table of handlers is keyed by these
classes, so a misspelt event is a NameError at import and a type error in mypy, never an
event dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState, RunView

__all__ = [
    "POSTMORTEM_EVENTS",
    "ApprovalAdded",
    "ApprovalOverdue",
    "DriftFound",
    "EscalationAnswered",
    "Event",
    "PlanRevised",
    "PostMortemEscalated",
    "PostMortemOpened",
    "PostMortemReminded",
    "PostMortemSnoozed",
    "PostMortemWritten",
    "Recorder",
    "RollbackStarted",
    "RunApproved",
    "RunCancelled",
    "RunEscalated",
    "RunExpired",
    "RunFinished",
    "RunHeld",
    "RunInterrupted",
    "RunRejected",
    "RunRequested",
    "RunStarted",
    "RunTakenOver",
    "RunWaiting",
    "StartMissed",
    "StepDone",
    "StepFinished",
    "StepOutput",
    "StepStarted",
]


@dataclass(frozen=True)
class Event:
    run: RunView


# -- a plan and its decisions -------------------------------------------------------------
@dataclass(frozen=True)
class RunRequested(Event):
    refusals: tuple[str, ...] = ()
    origin: str = ""  # where it was asked, for the front end that answers ("slack:C123")


@dataclass(frozen=True)
class PlanRevised(Event):
    old_hash: str
    why: str = ""  # the reason the requester gave for the change


@dataclass(frozen=True)
class ApprovalAdded(Event):
    """One approval recorded and more still needed (the last one raises RunApproved)."""

    by: str
    approvers: tuple[str, ...]  # every valid approval of this version of the plan so far
    missing: tuple[str, ...]  # what is still needed, as a person reads it


@dataclass(frozen=True)
class RunApproved(Event):
    approvers: tuple[str, ...]
    position: int = 1  # in the queue of its service and environment; 1 starts next


@dataclass(frozen=True)
class RunRejected(Event):
    by: str
    reason: str


@dataclass(frozen=True)
class RunExpired(Event):
    pass


@dataclass(frozen=True)
class ApprovalOverdue(Event):
    """A plan has waited for its approvals past its SLA (`stage` "sla": the people who may
    approve it are reminded) or past `escalate_after` ("escalate": the leads and on-call)."""

    stage: str
    told: tuple[str, ...]  # whom to tell
    waited: str  # how long it has waited, as a person reads it ("15m")
    missing: tuple[str, ...] = ()  # what is still needed


@dataclass(frozen=True)
class RunCancelled(Event):
    """Cancelled before it started (a started run ends with RunFinished)."""

    by: str


@dataclass(frozen=True)
class DriftFound(Event):
    """Before its first machine step, the run's hosts differ from what its plan was approved
    against: it waits for its approvers again (at `DRIFT_STEP`), nothing touched."""

    differences: tuple[str, ...]


@dataclass(frozen=True)
class StartMissed(Event):
    """A scheduled run that may no longer start (its window closed, its approvals lapsed):
    expired, never started."""

    reason: str


@dataclass(frozen=True)
class RunHeld(Event):
    """Approved and queued, but a change freeze keeps it from starting (it starts after)."""

    reason: str


# -- execution -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStarted(Event):
    pass


@dataclass(frozen=True)
class StepStarted(Event):
    step: str
    phase: str = "main"


@dataclass(frozen=True)
class StepOutput(Event):
    step: str
    host: str
    chunk: str


@dataclass(frozen=True)
class StepFinished(Event):
    step: str
    phase: str
    ok: bool
    results: tuple[CommandResult, ...]


@dataclass(frozen=True)
class RunWaiting(Event):
    """Parked at a person's step or a gate."""

    step: str


@dataclass(frozen=True)
class StepDone(Event):
    """A person's step marked done (by a person, or by the Coder agent with its evidence)."""

    step: str
    by: str
    evidence: str = ""
    links: tuple[str, ...] = ()
    waited_s: float | None = None  # how long the step waited for its person


@dataclass(frozen=True)
class RollbackStarted(Event):
    reason: str


@dataclass(frozen=True)
class RunFinished(Event):
    """Succeeded, failed, rolled back, or cancelled once started."""

    state: RunState
    by: str | None = None


@dataclass(frozen=True)
class RunInterrupted(Event):
    step: str | None


@dataclass(frozen=True)
class RunTakenOver(Event):
    """The worker running it died; another took the run over, to follow what was running to
    its true end and go on."""

    step: str | None
    dead: str  # the worker that stopped beating
    by: str  # the worker that goes on with it


# -- Process 4: escalation -----------------------------------------------------------------
@dataclass(frozen=True)
class RunEscalated(Event):
    by: str
    reason: str
    details: str
    architects: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalationAnswered(Event):
    by: str
    how: str  # "take_over", "fixed" (its fix plan exists: reason names it) or "close"
    reason: str = ""


# -- Process 7: post-mortems ---------------------------------------------------------------
@dataclass(frozen=True)
class PostMortemOpened(Event):
    postmortem: PostMortem


@dataclass(frozen=True)
class PostMortemReminded(Event):
    postmortem: PostMortem
    count: int


@dataclass(frozen=True)
class PostMortemSnoozed(Event):
    postmortem: PostMortem


@dataclass(frozen=True)
class PostMortemEscalated(Event):
    leads: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class PostMortemWritten(Event):
    postmortem: PostMortem


POSTMORTEM_EVENTS = (
    PostMortemOpened,
    PostMortemReminded,
    PostMortemSnoozed,
    PostMortemEscalated,
    PostMortemWritten,
)


@dataclass
class Recorder:
    """A consumer that keeps what it was told (the terminal's and tests' simplest one)."""

    seen: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.seen.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.seen if isinstance(e, kind)]
