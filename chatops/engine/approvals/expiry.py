"""The clock on a plan waiting for approvals, as `approvals:` in chatops.yml sets it per
process and environment: at its SLA the people who may approve it are reminded, past
`escalate_after` the leads and on-call are told, at `expire_after` it expires (the config's
`policies.approval_ttl` when no `expire_after` is set). Each step happens once: it is an
audit row, so a restart neither skips nor repeats one. A part of the change service."""

from __future__ import annotations

from collections.abc import Callable

from chatops.engine.approvals.approvers import barred
from chatops.engine.approvals.parts import ChangeContext
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.planning.config import ApprovalTimes
from chatops.engine.planning.durations import parse_duration
from chatops.engine.planning.plan import Plan
from chatops.engine.unit_of_work import UnitOfWork

__all__ = ["ESCALATED", "ESCALATE_TO", "REMINDED", "Expiry", "Missing"]

REMINDED = "plan.sla_reminded"
ESCALATED = "plan.sla_escalated"
#: Told past `escalate_after`: whoever holds these roles.
ESCALATE_TO = ("lead", "oncall")

Missing = Callable[[UnitOfWork, RunView, Plan], tuple[str, ...]]


class Expiry:
    def __init__(self, ctx: ChangeContext, missing: Missing | None = None) -> None:
        self.ctx = ctx
        self.missing = missing  # what a plan still needs (the change service's status)

    def times(self, run: RunView) -> ApprovalTimes:
        return self.ctx.config.approvals.times_for(run.runbook, run.environment)

    def expire_if_due(self, t: UnitOfWork, run: RunView) -> bool:
        """In `t`: expire `run` if its approval time ran out."""
        ctx = self.ctx
        if run.state != RunState.AWAITING_APPROVAL:
            return False
        ttl = self.times(run).expire_after or ctx.config.policies.approval_ttl
        if ctx.clock.now() - run.created_at < parse_duration(ttl):
            return False
        if not t.runs.transition(run.id, RunState.EXPIRED, ctx.clock.now()):
            return False
        run = t.runs.get(run.id)
        ctx.audit(t, "chatops", "plan.expired", run, f"ttl {ttl}")
        t.events.add(ev.RunExpired(run))
        return True

    def check(self, run_id: int) -> RunView:
        """The run as it stands, expired first if its approval time ran out."""
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            if self.expire_if_due(t, run):
                run = t.runs.get(run_id)
                t.commit()
            return run

    def expire_due(self) -> list[int]:
        """Expire what ran out of time, and remind or escalate what is overdue."""
        with self.ctx.tx() as t:
            expired = []
            for run in t.runs.list(limit=1000, states=[RunState.AWAITING_APPROVAL]):
                if self.expire_if_due(t, run):
                    expired.append(run.id)
                else:
                    self._nudge_if_due(t, run)
            t.commit()
            return expired

    def _nudge_if_due(self, t: UnitOfWork, run: RunView) -> None:
        times = self.times(run)
        waited = self.ctx.clock.now() - run.created_at
        done = {e.action for e in t.audit.for_run(run.id)}
        plan = t.plans.get(run.task_id)
        missing = self.missing(t, run, plan) if self.missing is not None else ()
        for stage, action, after in (
            ("escalate", ESCALATED, times.escalate_after),
            ("sla", REMINDED, times.sla),
        ):
            if after is None or waited < parse_duration(after) or action in done:
                continue
            told = self._escalate_to(plan) if stage == "escalate" else self._approvers(t, run, plan)
            self.ctx.audit(t, "chatops", action, run, f"waited {after}: told {', '.join(told)}")
            t.events.add(ev.ApprovalOverdue(run, stage, tuple(told), after, missing))
            return  # one step a sweep: escalating also covers a reminder not yet sent

    def _approvers(self, t: UnitOfWork, run: RunView, plan: Plan) -> list[str]:
        """Who may still approve this version of the plan: its roles' members, less four-eyes
        and those who already did."""
        gave = {a.user for a in t.approvals.of_run(run.id) if a.plan_hash == plan.sha256}
        own = barred(self.ctx.config, plan)
        may = {u for r in plan.approval.roles for u in self.ctx.roles.members(r)}
        return sorted(may - own - gave)

    def _escalate_to(self, plan: Plan) -> list[str]:
        own = barred(self.ctx.config, plan)
        told = {u for r in ESCALATE_TO for u in self.ctx.roles.members(r)}
        return sorted(told - own)
