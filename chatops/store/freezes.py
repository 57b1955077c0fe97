"""Ad hoc change freezes in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chatops.engine.planning.freezes import Freeze
from chatops.store.models import FreezeRow


class SqlFreezes:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, service: str | None, reason: str, by: str, start: datetime, end: datetime) -> int:
        row = FreezeRow(service=service, reason=reason, created_by=by, starts_at=start, ends_at=end)
        self.s.add(row)
        self.s.flush()
        return int(row.id)

    def lift(self, service: str | None, by: str, now: datetime) -> int:
        q = update(FreezeRow).where(
            FreezeRow.lifted_at.is_(None), FreezeRow.starts_at <= now, FreezeRow.ends_at > now
        )
        if service is not None:
            q = q.where(FreezeRow.service == service)
        res = self.s.execute(q.values(lifted_at=now, lifted_by=by))
        return int(res.rowcount)  # type: ignore[attr-defined]

    def active(self, now: datetime) -> list[Freeze]:
        """Read on every request and every claim: columns, not ORM objects."""
        q = (
            select(
                FreezeRow.id,
                FreezeRow.service,
                FreezeRow.reason,
                FreezeRow.ends_at,
                FreezeRow.created_by,
            )
            .where(
                FreezeRow.lifted_at.is_(None), FreezeRow.starts_at <= now, FreezeRow.ends_at > now
            )
            .order_by(FreezeRow.id)
        )
        return [
            Freeze(f"ad hoc #{i}", (service,) if service else (), reason, until, by)
            for i, service, reason, until, by in self.s.execute(q)
        ]
