"""Plans nobody approved in time expire. Mixed into ChangeService, which provides these
attributes and helpers."""

from __future__ import annotations

from chatops.engine import events as ev
from chatops.engine.approvals.parts import ChangeParts
from chatops.engine.domain.run import RunState, RunView


class Expiry(ChangeParts):
    def _expire_if_due(self, run: RunView) -> bool:
        with self.tx() as t:
            if run.state != RunState.AWAITING_APPROVAL:
                return False
            if self.clock.now() - run.created_at < self.config.policies.approval_ttl_delta:
                return False
            if t.runs.transition(run.id, RunState.EXPIRED, self.clock.now()):
                run = t.runs.get(run.id)
                self._audit(
                    "chatops", "plan.expired", run, f"ttl {self.config.policies.approval_ttl}"
                )
                t.events.add(ev.RunExpired(run))
                return True
            return False

    def check_expiry(self, run_id: int) -> RunView:
        """The run as it stands, expired first if its approval time ran out."""
        with self.tx() as t:
            self._expire_if_due(t.runs.get(run_id))
            return t.runs.get(run_id)

    def expire_due(self) -> list[int]:
        with self.tx() as t:
            expired = []
            for run in t.runs.list(limit=1000, states=[RunState.AWAITING_APPROVAL]):
                if self._expire_if_due(run):
                    expired.append(run.id)
            return expired
