"""Plans, stored by task id with their hash (a plan never changes once stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from chatops.engine.planning.plan import Plan
from chatops.errors import NotFound, StateError
from chatops.store.models import PlanRow


class SqlPlans:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, plan: Plan) -> None:
        s = self.s
        existing = s.get(PlanRow, plan.task_id)
        if existing is not None:
            if existing.sha256 != plan.sha256:
                raise StateError(f"plan {plan.task_id} exists with other content")
            return
        s.add(
            PlanRow(
                task_id=plan.task_id,
                sha256=plan.sha256,
                runbook=plan.runbook,
                body=plan.canonical().decode(),
                created_at=datetime.fromisoformat(plan.created_at),
            )
        )

    def get(self, task_id: str) -> Plan:
        s = self.s
        row = s.get(PlanRow, task_id)
        if row is None:
            raise NotFound(f"no plan {task_id}")
        plan = Plan.model_validate_json(row.body)
        if plan.sha256 != row.sha256:
            raise ValueError(f"plan {task_id} does not match its stored hash")
        return plan
