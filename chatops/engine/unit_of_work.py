"""Units of work: one transaction over the repositories, the events it raised with it.

    with self.tx() as t:
        run = t.runs.get(run_id)
        t.runs.transition(run.id, RunState.CANCELLED, now)
        t.commit()

Leaving the block without `commit()` rolls everything back, an error or a refusal included.
A refusal that must be on record says so: `t.keep(row)` writes that audit row whatever
becomes of the unit (with it on a commit; in a transaction of its own after a rollback).
One unit per thread at a time: a helper is handed the unit it works in, it never opens a
second one inside (a nested block is a bug, refused at once).

After a commit the events written in it are announced: the outbox's workers wake, and live
listeners (a terminal following a run) see them at once. The store says which of its errors
are transient (`is_transient`: the database down, restarting, its disk full), so a writer
that must outlast an outage (the runner) retries those and nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from chatops.engine.domain.events import Event
from chatops.engine.domain.run import AuditEvent
from chatops.engine.ports import (
    Agents,
    Approvals,
    Audit,
    Freezes,
    Notifier,
    Outbox,
    Plans,
    PostMortemStore,
    Runs,
    Steps,
)
from chatops.errors import StoreUnavailable

__all__ = ["Repositories", "StoreTransaction", "Transactions", "UnitOfWork"]

log = logging.getLogger(__name__)


class Repositories:
    """The repositories a unit of work reaches."""

    plans: Plans
    runs: Runs
    steps: Steps
    approvals: Approvals
    audit: Audit
    postmortems: PostMortemStore
    events: Outbox
    agents: Agents
    freezes: Freezes


class StoreTransaction(Repositories):
    """What a store adapter implements: its repositories over one transaction."""

    def write(self) -> list[Event]:
        """Commit the transaction; return the events written in it."""
        raise NotImplementedError

    def discard(self) -> None:
        """Roll the transaction back."""
        raise NotImplementedError


class UnitOfWork(Repositories):
    """What a `with tx() as t:` block works in."""

    def __init__(self, owner: Transactions, tx: StoreTransaction) -> None:
        self._owner = owner
        self._tx = tx
        self._kept: list[AuditEvent] = []
        self.committed = False
        self.plans = tx.plans
        self.runs = tx.runs
        self.steps = tx.steps
        self.approvals = tx.approvals
        self.audit = tx.audit
        self.postmortems = tx.postmortems
        self.events = tx.events
        self.agents = tx.agents
        self.freezes = tx.freezes

    def commit(self) -> None:
        """Make what this unit wrote durable and announce its events. It ends the unit."""
        if self.committed:
            raise RuntimeError("this unit of work was committed already")
        for row in self._kept:
            self.audit.append(row)
        self._kept.clear()
        events = self._tx.write()
        self.committed = True
        self._owner._closed(self)  # listeners may open units of their own
        self._owner._committed(events)

    def keep(self, row: AuditEvent) -> None:
        """Put `row` on record even if this unit is rolled back (a refusal's audit row)."""
        self._kept.append(row)


class Transactions:
    """Hands out units of work, one at a time per thread."""

    def __init__(
        self,
        begin: Callable[[], StoreTransaction],
        transient: Callable[[BaseException], bool] | None = None,
    ) -> None:
        self._begin = begin
        self._transient = transient
        self._local = threading.local()
        self._on_commit: list[Callable[[], None]] = []
        self.listeners: list[Notifier] = []

    def __call__(self) -> _Block:
        return _Block(self)

    def on_commit(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every commit that wrote events (the outbox's workers)."""
        self._on_commit.append(wake)

    def is_transient(self, exc: BaseException) -> bool:
        """Is this error the store being unavailable (worth retrying), not a decision or bug?"""
        if isinstance(exc, StoreUnavailable):
            return True
        return self._transient is not None and self._transient(exc)

    @property
    def open(self) -> bool:
        """Is a unit of work open on this thread?"""
        return getattr(self._local, "unit", None) is not None

    def _closed(self, unit: UnitOfWork) -> None:
        if getattr(self._local, "unit", None) is unit:
            self._local.unit = None

    def _committed(self, events: list[Event]) -> None:
        if not events:
            return
        for wake in self._on_commit:
            wake()
        for listener in self.listeners:
            for event in events:
                try:
                    listener.publish(event)
                except Exception:  # a listener's failure is never the change's failure
                    log.exception("%s could not handle %s", type(listener).__name__, event)

    def _write_kept(self, rows: list[AuditEvent]) -> None:
        tx = self._begin()
        try:
            for row in rows:
                tx.audit.append(row)
        except BaseException:
            tx.discard()
            raise
        self._committed(tx.write())


class _Block:
    def __init__(self, owner: Transactions) -> None:
        self._owner = owner
        self._unit: UnitOfWork | None = None

    def __enter__(self) -> UnitOfWork:
        if self._owner.open:
            raise RuntimeError(
                "a unit of work is open on this thread already: hand it to the helper"
            )
        self._unit = UnitOfWork(self._owner, self._owner._begin())
        self._owner._local.unit = self._unit
        return self._unit

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        unit = self._unit
        if unit is None:
            return
        self._owner._closed(unit)
        if unit.committed:
            return
        try:
            unit._tx.discard()
        except Exception:  # the connection may be gone with the database: nothing to undo
            log.debug("rollback failed", exc_info=True)
        if unit._kept:
            self._owner._write_kept(unit._kept)
