"""Where a run's execution stops short, as the runner tells itself: paused at a person's
step (the run waits, parked), cancelled mid-way, or taken by another worker; and the record
a step's progress is read back from when a run goes on (its summary in the main phase)."""

from __future__ import annotations

from chatops.engine.domain.run import StepRecord

__all__ = ["Cancelled", "Paused", "Taken", "main_summary"]


class Paused(Exception):
    """The run reached a person's step or a gate: it waits there, parked."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id


class Cancelled(Exception):
    """Someone cancelled the run while it ran."""


class Taken(Exception):
    """This worker no longer holds the run (another took it over, thinking this one dead; or
    it ended meanwhile): it stops before its next command and records nothing more."""


def main_summary(records: list[StepRecord], step_id: str) -> StepRecord | None:
    """A step's newest summary record (no host) in the main phase, if it started."""
    found = [r for r in records if r.step_id == step_id and r.host == "" and r.phase == "main"]
    return found[-1] if found else None
