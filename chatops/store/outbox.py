"""The outbox in SQL: events written with their change, read back in order by consumers.

Ids must become visible in increasing order, or a consumer that has read event 7 would
never see an event 6 committed after it. SQLite serialises writers, so they do. On
PostgreSQL a transaction takes an advisory lock, held until it ends, before it inserts its
first event: writers of events commit one after another, and each id is drawn after the
previous writer committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from chatops.engine import event_codec
from chatops.engine.domain.events import Event
from chatops.engine.ports import Read, Stored
from chatops.store.models import ConsumerRow, EventRow

OUTBOX_LOCK = 0x4F_55_54_42  # "OUTB"
_EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
_ADD = insert(_EVENTS)  # built once (see store/steps.py): every event of a run is one row
# a consumer's reads, built once too: every feed reads several times a second while a run goes
_AFTER = (
    select(EventRow.id, EventRow.body)
    .where(EventRow.id > bindparam("position"))
    .order_by(EventRow.id)
    .limit(bindparam("limit"))
)
_READ = (
    select(EventRow.id)
    .where(EventRow.id > bindparam("position"))
    .order_by(EventRow.id)
    .limit(bindparam("limit"))
    .subquery()
)
_WINDOW = select(func.max(_READ.c.id), func.count()).select_from(_READ)
_WANTED = (
    select(EventRow.id, EventRow.body)
    .where(
        EventRow.id > bindparam("position"),
        EventRow.id <= bindparam("last"),
        EventRow.kind.in_(bindparam("kinds", expanding=True)),
    )
    .order_by(EventRow.id)
)


class SqlOutbox:
    def __init__(self, session: Session, now: datetime) -> None:
        self.s = session
        self.now = now
        self.added: list[Event] = []
        self._pg = session.get_bind().dialect.name == "postgresql"

    def add(self, event: Event) -> None:
        if self._pg and not self.added:
            self.s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": OUTBOX_LOCK})
        self.s.execute(  # a Core insert: no ORM bookkeeping for a row nobody reads back here
            _ADD,
            {
                "at": self.now,
                "run_id": event.run.id,
                "kind": event_codec.kind_of(event),
                "body": event_codec.encode(event),
            },
        )
        self.added.append(event)


class SqlEventLog:
    """What the outbox's consumers read, and where each of them stands."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.session = sessionmaker(engine, expire_on_commit=False)
        self.reading = sessionmaker(reader or engine, expire_on_commit=False)

    def after(self, position: int, limit: int = 500) -> list[Stored]:
        with self.reading() as s:
            rows = s.execute(_AFTER, {"position": position, "limit": limit}).all()
        return [Stored(i, event_codec.decode(body)) for i, body in rows]

    def read(self, position: int, limit: int, kinds: frozenset[str] | None = None) -> Read:
        """Given `kinds`, the events passed over never leave the database: one statement
        finds where the read ends, another fetches the wanted events up to there (ids are
        visible in order, so none below that end can still appear)."""
        if kinds is None:
            every = self.after(position, limit)
            return Read(every, every[-1].id if every else position, len(every) >= limit)
        with self.reading() as s:
            last, count = s.execute(_WINDOW, {"position": position, "limit": limit}).one()
            if not count:
                return Read([], position, False)
            wanted = s.execute(
                _WANTED, {"position": position, "last": last, "kinds": sorted(kinds)}
            ).all()
        stored = [Stored(i, event_codec.decode(body)) for i, body in wanted]
        return Read(stored, int(last), count >= limit)

    def of_run(self, run_id: int, position: int = 0, limit: int = 500) -> list[Stored]:
        with self.reading() as s:
            q = select(EventRow.id, EventRow.body).where(
                EventRow.run_id == run_id, EventRow.id > position
            )
            rows = s.execute(q.order_by(EventRow.id).limit(limit)).all()
        return [Stored(i, event_codec.decode(body)) for i, body in rows]

    def head(self) -> int:
        with self.reading() as s:
            return int(s.scalar(select(func.max(EventRow.id))) or 0)

    def lease(self, consumer: str, holder: str, now: datetime, until: datetime) -> int | None:
        """Hold `consumer` until `until` if no one else holds it; its position, or None."""
        with self.session.begin() as s:
            if s.get(ConsumerRow, consumer) is None:
                s.add(ConsumerRow(name=consumer, position=self._start(s)))
                s.flush()
            res = s.execute(
                update(ConsumerRow)
                .where(
                    ConsumerRow.name == consumer,
                    (ConsumerRow.holder == holder)
                    | ConsumerRow.holder.is_(None)
                    | (ConsumerRow.lease_until < now),
                )
                .values(holder=holder, lease_until=until)
            )
            if not res.rowcount:  # type: ignore[attr-defined]
                return None
            pos = s.scalar(select(ConsumerRow.position).where(ConsumerRow.name == consumer))
            return int(pos or 0)

    @staticmethod
    def _start(s: Session) -> int:
        """A consumer seen for the first time starts at the end: it is new, not behind."""
        return int(s.scalar(select(func.max(EventRow.id))) or 0)

    def advance(self, consumer: str, holder: str, position: int) -> bool:
        """Record that `consumer` handled everything up to `position`; False if it lost its
        lease meanwhile (another process delivers from there)."""
        with self.session.begin() as s:
            res = s.execute(
                update(ConsumerRow)
                .where(ConsumerRow.name == consumer, ConsumerRow.holder == holder)
                .values(position=func.max(ConsumerRow.position, position))
                if s.get_bind().dialect.name == "sqlite"
                else update(ConsumerRow)
                .where(ConsumerRow.name == consumer, ConsumerRow.holder == holder)
                .values(position=func.greatest(ConsumerRow.position, position))
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def release(self, consumer: str, holder: str) -> None:
        with self.session.begin() as s:
            s.execute(
                update(ConsumerRow)
                .where(ConsumerRow.name == consumer, ConsumerRow.holder == holder)
                .values(holder=None, lease_until=None)
            )

    def positions(self) -> dict[str, int]:
        with self.reading() as s:
            return {n: int(p) for n, p in s.execute(select(ConsumerRow.name, ConsumerRow.position))}

    def prune(self, before: datetime) -> int:
        """Forget events older than `before` that every consumer has handled."""
        with self.session.begin() as s:
            low = s.scalar(select(func.min(ConsumerRow.position)))
            if low is None:
                return 0
            res = s.execute(delete(EventRow).where(EventRow.id <= low, EventRow.at < before))
            return int(res.rowcount)  # type: ignore[attr-defined]
