"""What the change service's parts (handoffs, proposals, expiry) share: its settings and
how a decision or a refusal goes on record."""

from __future__ import annotations

from dataclasses import dataclass

from chatops.engine.approvals.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions, UnitOfWork
from chatops.errors import PermissionDenied


@dataclass(frozen=True)
class Requested:
    plan: Plan
    verdict: Verdict
    run: RunView


class ChangeParts:
    config: Config
    runbooks: dict[str, Runbook]
    tx: Transactions
    clock: Clock
    roles: Roles

    def _row(
        self,
        actor: str,
        action: str,
        run: RunView | None = None,
        detail: str = "",
        plan: Plan | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            at=self.clock.now(),
            actor=actor,
            action=action,
            run_id=run.id if run else None,
            task_id=run.task_id if run else (plan.task_id if plan else None),
            plan_hash=run.plan_hash if run else (plan.sha256 if plan else None),
            detail=detail,
        )

    def _audit(
        self,
        t: UnitOfWork,
        actor: str,
        action: str,
        run: RunView | None = None,
        detail: str = "",
        plan: Plan | None = None,
    ) -> None:
        """Write an audit row in `t`: it stands or falls with the unit."""
        t.audit.append(self._row(actor, action, run, detail, plan))

    def _deny(
        self,
        actor: str,
        action: str,
        reason: str,
        run: RunView | None = None,
        t: UnitOfWork | None = None,
        plan: Plan | None = None,
    ) -> PermissionDenied:
        """Put a denied attempt on record (kept when `t` rolls back; in a unit of its own
        without one) and return the error that tells the user why."""
        self._refused(f"denied.{action}", actor, reason, run, t, plan)
        return PermissionDenied(reason)

    def _refused(
        self,
        action: str,
        actor: str,
        detail: str,
        run: RunView | None = None,
        t: UnitOfWork | None = None,
        plan: Plan | None = None,
    ) -> None:
        row = self._row(actor, action, run, detail, plan)
        if t is not None:
            t.keep(row)
            return
        with self.tx() as own:
            own.audit.append(row)
            own.commit()
