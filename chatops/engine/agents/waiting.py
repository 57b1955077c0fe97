"""What an agent waits for: a decision on its plan, or the next events of a run.

A decision is read from the run's state and nothing else: approved only once the run left
"awaiting approval" for the queue; a wait that runs out answers pending (or expired, if the
plan's time ran out), never approved. Waiters wake on this process's commits at once and
look at the store every `POLL` seconds for what other processes decided.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chatops.engine.domain.events import Event
from chatops.engine.domain.run import RunState, RunView

__all__ = ["APPROVED_STATES", "POLL", "Decision", "Waiters", "decision_of"]

POLL = 0.5

APPROVED_STATES = frozenset(
    {
        RunState.APPROVED,
        RunState.QUEUED,
        RunState.RUNNING,
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.ROLLED_BACK,
        RunState.INTERRUPTED,
    }
)


@dataclass(frozen=True)
class Decision:
    run: RunView
    decision: str  # approved | rejected | expired | cancelled | pending
    reason: str = ""
    approvers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.decision != "pending"


def decision_of(
    run: RunView, approvers: tuple[str, ...] = (), missing: tuple[str, ...] = ()
) -> Decision:
    """The decision a run's state shows. Anything not known to be approved is not."""
    if run.state in APPROVED_STATES:
        return Decision(run, "approved", approvers=approvers)
    if run.state == RunState.REJECTED:
        return Decision(run, "rejected", run.error or "rejected")
    if run.state == RunState.EXPIRED:
        return Decision(run, "expired", "nobody approved it in time")
    if run.state == RunState.CANCELLED:
        return Decision(run, "cancelled", run.error or "cancelled")
    return Decision(run, "pending", approvers=approvers, missing=missing)


class Waiters:
    """Wakes every waiting agent when this process commits events (a listener)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def publish(self, event: Event) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float) -> int:
        """Sleep until something was committed after generation `seen`, or `timeout`."""
        with self._cond:
            if self._generation == seen:
                self._cond.wait(timeout)
            return self._generation
