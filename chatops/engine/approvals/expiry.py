"""Plans nobody approved in time expire. A part of ChangeService."""

from __future__ import annotations

from chatops.engine import events as ev
from chatops.engine.approvals.parts import ChangeParts
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.unit_of_work import UnitOfWork


class Expiry(ChangeParts):
    def _expire_if_due(self, t: UnitOfWork, run: RunView) -> bool:
        """In `t`: expire `run` if its approval time ran out."""
        if run.state != RunState.AWAITING_APPROVAL:
            return False
        if self.clock.now() - run.created_at < self.config.policies.approval_ttl_delta:
            return False
        if not t.runs.transition(run.id, RunState.EXPIRED, self.clock.now()):
            return False
        run = t.runs.get(run.id)
        self._audit(t, "chatops", "plan.expired", run, f"ttl {self.config.policies.approval_ttl}")
        t.events.add(ev.RunExpired(run))
        return True

    def check_expiry(self, run_id: int) -> RunView:
        """The run as it stands, expired first if its approval time ran out."""
        with self.tx() as t:
            run = t.runs.get(run_id)
            if self._expire_if_due(t, run):
                run = t.runs.get(run_id)
                t.commit()
            return run

    def expire_due(self) -> list[int]:
        with self.tx() as t:
            expired = [
                run.id
                for run in t.runs.list(limit=1000, states=[RunState.AWAITING_APPROVAL])
                if self._expire_if_due(t, run)
            ]
            t.commit()
            return expired
