"""What the change service and its parts (expiry, handoffs, revisions, proposals) share:
the deployment, the store, the clock, who holds which role, and how a decision or a refusal
goes on record. Each part is handed one; none inherits from another."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions, UnitOfWork
from chatops.errors import PermissionDenied, UnknownName

__all__ = ["ChangeContext", "Requested", "Submit"]


@dataclass(frozen=True)
class Requested:
    plan: Plan
    verdict: Verdict
    run: RunView


class Submit(Protocol):
    """How a part hands a new plan to the change service (`ChangeService.submit`)."""

    def __call__(
        self, plan: Plan, requester: str, imported: bool = False, origin: str = ""
    ) -> Requested: ...


class ChangeContext:
    def __init__(
        self,
        config: Config,
        runbooks: dict[str, Runbook],
        tx: Transactions,
        clock: Clock,
        roles: Roles,
    ) -> None:
        self.config = config
        self.runbooks = runbooks
        self.tx = tx
        self.clock = clock
        self.roles = roles
        #: reads a plan's facts on its hosts (the runner's drift check); None: not read
        self.read_facts: Callable[[Plan], dict[str, dict[str, str]]] | None = None

    def with_facts(self, plan: Plan) -> Plan:
        """`plan` with its hosts' facts as they are now, read outside any unit of work: what
        its approvers will see and approve (its hash covers them)."""
        if self.read_facts is None or not plan.drift:
            return plan
        return plan.model_copy(update={"facts": self.read_facts(plan)})

    def runbook(self, name: str) -> Runbook:
        rb = self.runbooks.get(name)
        if rb is None:
            close = difflib.get_close_matches(name, self.runbooks, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UnknownName(
                f"unknown process {name!r}{hint}; known: {', '.join(sorted(self.runbooks))}"
            )
        return rb

    def row(
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

    def audit(
        self,
        t: UnitOfWork,
        actor: str,
        action: str,
        run: RunView | None = None,
        detail: str = "",
        plan: Plan | None = None,
    ) -> None:
        """Write an audit row in `t`: it stands or falls with the unit."""
        t.audit.append(self.row(actor, action, run, detail, plan))

    def deny(
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
        self.refused(actor, f"denied.{action}", reason, run, t, plan)
        return PermissionDenied(reason)

    def refused(
        self,
        actor: str,
        action: str,
        detail: str,
        run: RunView | None = None,
        t: UnitOfWork | None = None,
        plan: Plan | None = None,
    ) -> None:
        """Put a refusal on record: kept when `t` rolls back, in a unit of its own without one."""
        row = self.row(actor, action, run, detail, plan)
        if t is not None:
            t.keep(row)
            return
        with self.tx() as own:
            own.audit.append(row)
            own.commit()
