"""Plans nobody approved in time expire. A part of the change service."""

from __future__ import annotations

from chatops.engine.approvals.parts import ChangeContext
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.unit_of_work import UnitOfWork

__all__ = ["Expiry"]


class Expiry:
    def __init__(self, ctx: ChangeContext) -> None:
        self.ctx = ctx

    def expire_if_due(self, t: UnitOfWork, run: RunView) -> bool:
        """In `t`: expire `run` if its approval time ran out."""
        ctx = self.ctx
        if run.state != RunState.AWAITING_APPROVAL:
            return False
        if ctx.clock.now() - run.created_at < ctx.config.policies.approval_ttl_delta:
            return False
        if not t.runs.transition(run.id, RunState.EXPIRED, ctx.clock.now()):
            return False
        run = t.runs.get(run.id)
        ctx.audit(t, "chatops", "plan.expired", run, f"ttl {ctx.config.policies.approval_ttl}")
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
        with self.ctx.tx() as t:
            expired = [
                run.id
                for run in t.runs.list(limit=1000, states=[RunState.AWAITING_APPROVAL])
                if self.expire_if_due(t, run)
            ]
            t.commit()
            return expired
