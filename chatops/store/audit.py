"""The SQL audit trail: append and read, nothing else (the database refuses the rest)."""

from __future__ import annotations

import logging

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from chatops import metrics
from chatops.engine.domain.run import AuditEvent
from chatops.store.audit_chain import GENESIS, Anchor, canonical, link
from chatops.store.models import AuditRow
from chatops.store.outbox import OUTBOX_LOCK

# The outbox's lock, not one of its own: a transaction that writes audit rows and events
# takes one lock, so two transactions can never each hold one and wait for the other.
AUDIT_LOCK = OUTBOX_LOCK

log = logging.getLogger("chatops.audit")


class SqlAudit:
    """Each row is chained to the one before (store/audit_chain.py). On PostgreSQL a writer
    takes an advisory lock held to its commit before it reads the previous hash, so two
    replicas never chain to the same row; SQLite writers are serial already."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._locked = session.get_bind().dialect.name != "postgresql"

    def _head(self) -> str:
        if not self._locked:
            self.s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
            self._locked = True
        last = self.s.scalar(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
        return last or GENESIS

    def append(self, event: AuditEvent) -> int:
        prev = self._head()
        content = canonical(
            event.at,
            event.actor,
            event.action,
            event.run_id,
            event.task_id,
            event.plan_hash,
            event.detail,
        )
        row = AuditRow(
            prev_hash=prev,
            hash=link(prev, content),
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


def audit_head(session: Session) -> Anchor | None:
    """The chain's head: the last row's id and hash."""
    row = session.execute(
        select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
    ).first()
    if row is None or row[1] is None:
        return None
    return Anchor(int(row[0]), str(row[1]))
