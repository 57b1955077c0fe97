"""The inbox: Slack requests acknowledged with 200, stored before the 200 and kept until
they have been handled.

Slack never resends a command or a click it got 200 for, so a process that dies between
the ack and the work would lose it: the lead's Approve "did nothing". The fast ack path
inserts one small row (the raw body, keyed by Slack's own id for it) and answers; the row is
marked handled once the work it started is done. Rows a dead process left are handed to the
next one (`claim_stranded`) and dispatched again; a row Slack sends twice (an event's
retry) is stored once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, make_url, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatops.store.db import make_engine
from chatops.store.group_commit import GroupCommit
from chatops.store.models import InboxRow

MAX_ATTEMPTS = 3
Incoming = tuple[str, str, bytes]  # key, content type, body


@dataclass(frozen=True)
class Received:
    id: int
    key: str
    content_type: str
    body: bytes
    received_at: datetime
    holder: str | None
    attempts: int


class SqlInbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writers: dict[str, GroupCommit[Incoming, int | None]] = {}
        self._lock = threading.Lock()

    def add_soon(
        self, key: str, content_type: str, body: bytes, holder: str, now: Callable[[], datetime]
    ) -> Future[int | None]:
        """`add`, committed with whatever else arrived meanwhile (`store/group_commit.py`):
        the fast ack's path. The future fails if the store cannot take it."""
        with self._lock:
            writer = self._writers.get(holder)
            if writer is None:
                writer = GroupCommit(
                    lambda items: self.add_many(items, holder, now()), "chatops-inbox"
                )
                self._writers[holder] = writer
        return writer.submit((key, content_type, body))

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._lock:
            writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.close()

    def add(
        self, key: str, content_type: str, body: bytes, holder: str, now: datetime
    ) -> int | None:
        """Store a request; its id, or None if one with this key is stored already."""
        return self.add_many([(key, content_type, body)], holder, now)[0]

    def add_many(self, items: Sequence[Incoming], holder: str, now: datetime) -> list[int | None]:
        """Store requests in one transaction; for each its id, or None if one with its key
        is stored already (then the batch is written again one by one: that is rare).
        A Core insert: this is the ack's path, and the ORM costs eight times the CPU."""
        rows = [_row(item, holder, now) for item in items]
        add = insert(InboxRow).returning(InboxRow.id, sort_by_parameter_order=True)
        try:
            with self.engine.begin() as c:
                return [int(i) for i in c.execute(add, rows).scalars()]
        except IntegrityError:
            pass
        out: list[int | None] = []
        for row in rows:
            try:
                with self.engine.begin() as c:
                    out.append(int(c.execute(add, [row]).scalar_one()))
            except IntegrityError:
                out.append(None)
        return out

    def handled(self, inbox_id: int, now: datetime) -> None:
        with Session(self.engine) as s:
            s.execute(update(InboxRow).where(InboxRow.id == inbox_id).values(handled_at=now))
            s.commit()

    def unhandled(self, limit: int = 100) -> list[Received]:
        with Session(self.engine) as s:
            q = (
                select(InboxRow)
                .where(InboxRow.handled_at.is_(None))
                .order_by(InboxRow.id)
                .limit(limit)
            )
            return [_received(r) for r in s.scalars(q)]

    def claim(self, item: Received, holder: str) -> bool:
        """Take over a stranded request (compare-and-set on its holder and attempts)."""
        with Session(self.engine) as s:
            done = s.execute(
                update(InboxRow)
                .where(
                    InboxRow.id == item.id,
                    InboxRow.handled_at.is_(None),
                    InboxRow.attempts == item.attempts,
                )
                .values(holder=holder, attempts=item.attempts + 1)
            )
            s.commit()
            return bool(getattr(done, "rowcount", 0))

    def prune(self, before: datetime) -> int:
        """Forget handled requests received before `before`."""
        with Session(self.engine) as s:
            gone = s.execute(
                delete(InboxRow).where(
                    InboxRow.handled_at.is_not(None), InboxRow.received_at < before
                )
            )
            s.commit()
            return int(getattr(gone, "rowcount", 0) or 0)


def _row(item: Incoming, holder: str, now: datetime) -> dict[str, object]:
    key, content_type, body = item
    return {
        "key": key[:255],
        "content_type": content_type[:100],
        "body": body,
        "received_at": now,
        "holder": holder,
        "attempts": 1,
    }


def _received(r: InboxRow) -> Received:
    return Received(r.id, r.key, r.content_type, r.body, r.received_at, r.holder, r.attempts)


def too_old(item: Received, now: datetime, limit: timedelta) -> bool:
    return now - item.received_at > limit


def inbox_engine(url: str, engine: Engine) -> Engine:
    """Where the fast ack stores requests. On SQLite a file of its own beside the database
    (`<name>.inbox`): SQLite has one writer at a time, and the ack must not queue behind the
    plans being written (a burst of twenty /change waited seconds for it)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return engine
    own = make_engine(str(u.set(database=u.database + ".inbox")))
    InboxRow.__table__.create(own, checkfirst=True)  # type: ignore[attr-defined]
    return own
