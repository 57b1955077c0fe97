"""The SQL audit trail: append and read, nothing else (the database refuses the rest)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatops import metrics
from chatops.engine.runs.run import AuditEvent
from chatops.store.models import AuditRow

log = logging.getLogger("chatops.audit")


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self.s = session

    def append(self, event: AuditEvent) -> int:
        row = AuditRow(
            at=event.at,
            actor=event.actor,
            action=event.action,
            run_id=event.run_id,
            task_id=event.task_id,
            plan_hash=event.plan_hash,
            detail=event.detail,
        )
        self.s.add(row)
        self.s.flush()
        event_id = row.id
        metrics.audited(event.action)
        log.info(
            "%s %s run=%s %s",
            event.actor,
            event.action,
            event.run_id,
            event.detail,
            extra={"run_id": event.run_id, "actor": event.actor, "action": event.action},
        )
        return event_id

    def for_run(self, run_id: int) -> list[AuditEvent]:
        q = select(AuditRow).where(AuditRow.run_id == run_id).order_by(AuditRow.id)
        return [_event(r) for r in self.s.scalars(q)]

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        return [_event(r) for r in self.s.scalars(q)]


def _event(r: AuditRow) -> AuditEvent:
    return AuditEvent(r.at, r.actor, r.action, r.run_id, r.task_id, r.plan_hash, r.detail, r.id)
