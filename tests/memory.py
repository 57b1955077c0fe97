"""In-memory repositories behind the unit of work: engine tests run without a database.

One lock makes transactions serial (as SQLite's writer lock does); a transaction works on a
copy of the state and replaces it on commit, so a rollback leaves nothing behind.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime

from chatops.engine import event_codec
from chatops.engine.domain.events import Event
from chatops.engine.ports import Clock, Read, Stored
from chatops.engine.unit_of_work import StoreTransaction, Transactions
from chatops.errors import StoreUnavailable
from tests.memory_repos import (
    MemoryAgents,
    MemoryApprovals,
    MemoryAudit,
    MemoryFreezes,
    MemoryOutbox,
    MemoryPlans,
    MemoryPostMortems,
    MemoryRuns,
    MemorySteps,
    State,
)


class MemoryTransaction(StoreTransaction):
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        if db.down:
            raise StoreUnavailable("the in-memory store is down (a test's outage)")
        db.lock.acquire()
        self.st = copy.copy(db.state)
        for name in (
            "plans",
            "runs",
            "queue_keys",
            "steps",
            "postmortems",
            "positions",
            "ids",
            "agents",
            "freezes",
        ):
            setattr(self.st, name, dict(getattr(db.state, name)))
        self.st.output = {k: list(v) for k, v in db.state.output.items()}
        for name in ("approvals", "audit", "events"):
            setattr(self.st, name, list(getattr(db.state, name)))
        self.plans = MemoryPlans(self.st)
        self.runs = MemoryRuns(self.st)
        self.steps = MemorySteps(self.st)
        self.approvals = MemoryApprovals(self.st)
        self.audit = MemoryAudit(self.st)
        self.postmortems = MemoryPostMortems(self.st)
        self.outbox = MemoryOutbox(self.st)
        self.events = self.outbox
        self.agents = MemoryAgents(self.st)
        self.freezes = MemoryFreezes(self.st)

    def write(self) -> list[Event]:
        try:
            if self.db.down:
                raise StoreUnavailable("the in-memory store went down before the commit")
            if self.db.refuse is not None and self.db.refuse(self):
                raise RuntimeError("a test's store refused this commit (not transient)")
            self.db.state = self.st
            self.db.commits += 1
        finally:
            self.db.lock.release()
        return self.outbox.added

    def discard(self) -> None:
        self.db.lock.release()


class MemoryDatabase:
    """The whole store in memory, with the outbox's reading side (an EventLog)."""

    def __init__(self) -> None:
        self.state = State()
        self.lock = threading.Lock()
        self.down = False  # a test's outage: every transaction fails as if the DB were gone
        self.refuse: Callable[[MemoryTransaction], bool] | None = None  # a non-transient fault
        self.commits = 0
        self.holders: dict[str, tuple[str, datetime]] = {}

    def transactions(self, clock: Clock) -> Transactions:
        return Transactions(lambda: MemoryTransaction(self))

    # -- EventLog --------------------------------------------------------------------------
    def after(self, position: int, limit: int = 500) -> list[Stored]:
        with self.lock:
            return [s for s in self.state.events if s.id > position][:limit]

    def _up(self) -> None:
        if self.down:
            raise StoreUnavailable("the in-memory store is down (a test's outage)")

    def read(self, position: int, limit: int, kinds: frozenset[str] | None = None) -> Read:
        self._up()
        seen = self.after(position, limit)
        wanted = [s for s in seen if kinds is None or event_codec.kind_of(s.event) in kinds]
        return Read(wanted, seen[-1].id if seen else position, len(seen) >= limit)

    def of_run(self, run_id: int, position: int = 0, limit: int = 500) -> list[Stored]:
        with self.lock:
            mine = [s for s in self.state.events if s.id > position and s.event.run.id == run_id]
            return mine[:limit]

    def head(self) -> int:
        self._up()
        with self.lock:
            return self.state.events[-1].id if self.state.events else 0

    def lease(self, consumer: str, holder: str, now: datetime, until: datetime) -> int | None:
        self._up()
        with self.lock:
            held = self.holders.get(consumer)
            if held is not None and held[0] != holder and held[1] >= now:
                return None
            self.holders[consumer] = (holder, until)
            return self.state.positions.setdefault(consumer, 0)

    def advance(self, consumer: str, holder: str, position: int) -> bool:
        self._up()
        with self.lock:
            if self.holders.get(consumer, ("", None))[0] != holder:
                return False
            self.state.positions[consumer] = max(self.state.positions.get(consumer, 0), position)
            return True

    def release(self, consumer: str, holder: str) -> None:
        with self.lock:
            if self.holders.get(consumer, ("", None))[0] == holder:
                del self.holders[consumer]
