"""Rolling deploys, run: a host that failed a step of its batch sits out the rest of that
batch; at the end of each batch the failed hosts so far are counted against what the
runbook tolerates; a failure rolls back only the hosts already touched."""

from __future__ import annotations

from chatops.engine.domain.run import StepRecord, StepState
from chatops.engine.planning.plan import HostCommand, PlannedStep

__all__ = ["only_touched", "over_threshold", "remaining", "touched"]


def _batch_of(step_id: str) -> str | None:
    return step_id.rsplit("@", 1)[1] if "@" in step_id else None


def remaining(step: PlannedStep, records: list[StepRecord]) -> list[HostCommand]:
    """The step's commands, without hosts that failed an earlier step of the same batch."""
    if step.batch is None:
        return list(step.commands)
    mine = _batch_of(step.id)
    failed = {
        r.host
        for r in records
        if r.host and r.state == StepState.FAILED and _batch_of(r.step_id) == mine
    }
    return [c for c in step.commands if c.host not in failed]


def over_threshold(step: PlannedStep, records: list[StepRecord]) -> str | None:
    """At a batch's end: why the rolling deploy stops (too many failed hosts), or None."""
    if step.max_failures is None:  # not a batch's last step
        return None
    failed = sorted(
        {
            r.host
            for r in records
            if r.host and r.state == StepState.FAILED and _batch_of(r.step_id) is not None
        }
    )
    if len(failed) <= step.max_failures:
        return None
    return (
        f"batch {step.batch}: {len(failed)} host(s) failed ({', '.join(failed)}), more than "
        f"the {step.max_failures} the rolling deploy tolerates"
    )


def touched(started: list[PlannedStep]) -> set[str]:
    return {c.host for s in started for c in s.commands}


def only_touched(rollback: list[PlannedStep], started: list[PlannedStep]) -> list[PlannedStep]:
    """A rolling plan's own rollback, on the hosts its batches reached: the others never
    changed."""
    if not any(s.batch for s in started):
        return rollback
    hosts = touched(started)
    return [
        s.model_copy(update={"commands": [c for c in s.commands if c.host in hosts]})
        for s in rollback
    ]
