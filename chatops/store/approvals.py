"""Approvals of plans and of gates: one per user, run and step (the database says so)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatops.engine.domain.run import ApprovalRecord
from chatops.store.models import ApprovalRow


class SqlApprovals:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, approval: ApprovalRecord) -> bool:
        try:
            with self.s.begin_nested():  # a repeat fails alone, not the whole transaction
                self.s.add(
                    ApprovalRow(
                        run_id=approval.run_id,
                        plan_hash=approval.plan_hash,
                        step_key=approval.step_id or "",
                        user_id=approval.user,
                        roles=",".join(approval.roles),
                        at=approval.at,
                    )
                )
            return True
        except IntegrityError:
            return False

    def of_run(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]:
        s = self.s
        rows = s.scalars(
            select(ApprovalRow)
            .where(ApprovalRow.run_id == run_id, ApprovalRow.step_key == (step_id or ""))
            .order_by(ApprovalRow.id)
        )
        return [
            ApprovalRecord(
                r.run_id,
                r.plan_hash,
                r.user_id,
                tuple(x for x in r.roles.split(",") if x),
                r.step_key or None,
                r.at,
            )
            for r in rows
        ]

    def approved_by(self, user: str, run_ids: Sequence[int]) -> dict[int, str]:
        if not run_ids:
            return {}
        s = self.s
        q = (
            select(ApprovalRow.run_id, ApprovalRow.plan_hash)
            .where(
                ApprovalRow.user_id == user,
                ApprovalRow.step_key == "",
                ApprovalRow.run_id.in_(list(run_ids)),
            )
            .order_by(ApprovalRow.id)
        )
        return {run_id: plan_hash for run_id, plan_hash in s.execute(q)}
