"""Ending a run whose worker stopped (its process died, the store stayed away, a bug).

It becomes `interrupted` at the step it was on, with the cause, so a lead can look at the
hosts and resume it; or `cancelled`, if a cancel was asked for meanwhile (a cancel always
ends a run). Its steps still marked running are marked interrupted with the same cause.
"""

from __future__ import annotations

from datetime import datetime

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunState, RunView, StepState
from chatops.engine.unit_of_work import UnitOfWork

__all__ = ["end_stranded"]


def end_stranded(
    t: UnitOfWork, run_id: int, cause: str, now: datetime, owner: str | None
) -> RunView | None:
    """In `t`: the run ended as above, or None if it was no longer running as `owner`'s
    (someone else ended it, a worker took it over, or its worker finished after all)."""
    current = t.runs.get(run_id)
    if current.state != RunState.RUNNING or current.owner != owner:
        return None
    for rec in t.steps.of_run(run_id):
        if rec.state == StepState.RUNNING:
            t.steps.finish(rec.id, StepState.INTERRUPTED, now, error=cause)
    if current.cancel_requested:
        if not t.runs.transition(run_id, RunState.CANCELLED, now, error=cause, held_by=owner):
            return None
        ended = t.runs.get(run_id)
        _audit(t, ended, now, "run.cancelled", f"{cause}; a cancel was requested")
        t.events.add(ev.RunFinished(ended, ended.state))
        return ended
    why = f"interrupted at step {current.current_step}: {cause}"
    if not t.runs.transition(run_id, RunState.INTERRUPTED, now, error=why, held_by=owner):
        return None
    ended = t.runs.get(run_id)
    detail = f"at step {current.current_step}; owner {current.owner}; {cause}"
    _audit(t, ended, now, "run.interrupted", detail)
    t.events.add(ev.RunInterrupted(ended, ended.current_step))
    return ended


def _audit(t: UnitOfWork, run: RunView, now: datetime, action: str, detail: str) -> None:
    t.audit.append(AuditEvent(now, "chatops", action, run.id, run.task_id, run.plan_hash, detail))
