"""The SQL implementation of the PostMortemStore port."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatops.engine.domain.postmortem import PostMortem
from chatops.store.models import PostMortemRow


def _pm(r: PostMortemRow) -> PostMortem:
    return PostMortem(
        run_id=r.run_id,
        service=r.service,
        owners=tuple(x for x in r.owners.split(",") if x),
        opened_at=r.opened_at,
        due_at=r.due_at,
        reminders_sent=r.reminders_sent,
        last_reminded_at=r.last_reminded_at,
        snoozed_until=r.snoozed_until,
        escalated_at=r.escalated_at,
        done_at=r.done_at,
        author=r.author,
        answers=json.loads(r.answers or "{}"),
    )


class SqlPostMortems:
    def __init__(self, session: Session) -> None:
        self.s = session

    def open(self, pm: PostMortem) -> bool:
        try:
            with self.s.begin_nested():  # a second opening fails alone
                self.s.add(
                    PostMortemRow(
                        run_id=pm.run_id,
                        service=pm.service,
                        owners=",".join(pm.owners),
                        opened_at=pm.opened_at,
                        due_at=pm.due_at,
                        reminders_sent=0,
                        answers="{}",
                    )
                )
            return True
        except IntegrityError:
            return False

    def get(self, run_id: int) -> PostMortem | None:
        row = self.s.get(PostMortemRow, run_id)
        return _pm(row) if row else None

    def pending(self) -> list[PostMortem]:
        q = select(PostMortemRow).where(PostMortemRow.done_at.is_(None))
        return [_pm(r) for r in self.s.scalars(q.order_by(PostMortemRow.run_id))]

    def all(self, service: str | None = None) -> list[PostMortem]:
        q = select(PostMortemRow).order_by(PostMortemRow.run_id)
        if service is not None:
            q = q.where(PostMortemRow.service == service)
        return [_pm(r) for r in self.s.scalars(q)]

    def _cas(self, run_id: int, *conditions: ColumnElement[bool], **values: object) -> bool:
        res = self.s.execute(
            update(PostMortemRow)
            .where(PostMortemRow.run_id == run_id, PostMortemRow.done_at.is_(None), *conditions)
            .values(**values)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def claim_reminder(self, run_id: int, sent_before: int, now: datetime) -> bool:
        return self._cas(
            run_id,
            PostMortemRow.reminders_sent == sent_before,
            reminders_sent=sent_before + 1,
            last_reminded_at=now,
        )

    def claim_escalation(self, run_id: int, now: datetime) -> bool:
        return self._cas(run_id, PostMortemRow.escalated_at.is_(None), escalated_at=now)

    def snooze(self, run_id: int, until: datetime) -> bool:
        return self._cas(run_id, snoozed_until=until)

    def complete(self, run_id: int, author: str, answers: dict[str, str], now: datetime) -> bool:
        return self._cas(run_id, done_at=now, author=author, answers=json.dumps(answers))
