"""Runs approved now to start later: when one is due, whether it may still start.

A scheduled run is queued with `not_before`; the store does not hand it out before then,
and the sweep wakes for it. When it is due, before anything claims it, the times it was
approved for are checked again: a run whose window closed (or whose late start passed),
or whose approvals are older than `approvals.hold_for`, expires instead of starting, and
says why. A change freeze at that moment holds it as it holds any run (and, past its
window, it then expires). One transaction, compare-and-set: two processes never both act.
"""

from __future__ import annotations

from datetime import datetime

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.starts import start_refusal
from chatops.engine.unit_of_work import UnitOfWork

__all__ = ["MISSED", "approved_at", "expire_missed"]

MISSED = "run.start_missed"


def approved_at(t: UnitOfWork, run: RunView) -> tuple[datetime | None, bool]:
    """When the run's quorum was last reached (it was queued), and whether it ever started."""
    rows = t.audit.for_run(run.id)
    queued = [e.at for e in rows if e.action == "run.queued"]
    return (max(queued) if queued else None), any(e.action == "run.started" for e in rows)


def expire_missed(t: UnitOfWork, config: Config, now: datetime) -> list[RunView]:
    """In `t`: expire the due scheduled runs that may no longer start."""
    out = []
    for run in t.runs.list(limit=500, states=[RunState.QUEUED]):
        if run.not_before is None or run.not_before > now:
            continue
        plan = t.plans.get(run.task_id)
        if plan.start is None:
            continue
        at, started = approved_at(t, run)
        if started:  # resumed after an interruption: its start was kept, long ago
            continue
        holds = config.approvals.times_for(plan.runbook, plan.environment).holds
        why = start_refusal(plan.start, at, now, holds)
        if why is None or not t.runs.transition(run.id, RunState.EXPIRED, now, error=why):
            continue
        run = t.runs.get(run.id)
        t.audit.append(AuditEvent(now, "chatops", MISSED, run.id, run.task_id, run.plan_hash, why))
        t.events.add(ev.StartMissed(run, why))
        out.append(run)
    return out
