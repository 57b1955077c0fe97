"""The SQL audit trail: append and read, nothing else (the database refuses the rest)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from chatops import metrics
from chatops.engine.run import AuditEvent
from chatops.store.models import AuditRow

log = logging.getLogger("chatops.audit")


class SqlAuditLog:
    def __init__(self, engine: Engine) -> None:
        self.session = sessionmaker(engine, expire_on_commit=False)

    def append(self, event: AuditEvent) -> int:
        with self.session.begin() as s:
            row = AuditRow(
                at=event.at,
                actor=event.actor,
                action=event.action,
                run_id=event.run_id,
                task_id=event.task_id,
                plan_hash=event.plan_hash,
                detail=event.detail,
            )
            s.add(row)
            s.flush()
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
        with self.session() as s:
            q = select(AuditRow).where(AuditRow.run_id == run_id).order_by(AuditRow.id)
            return [_event(r) for r in s.scalars(q)]

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        with self.session() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            return [_event(r) for r in s.scalars(q)]


def _event(r: AuditRow) -> AuditEvent:
    return AuditEvent(r.at, r.actor, r.action, r.run_id, r.task_id, r.plan_hash, r.detail, r.id)
