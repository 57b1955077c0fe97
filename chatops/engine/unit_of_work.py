"""Units of work: one transaction over the repositories, the events it raised with it.

`Transactions` hands them out. A block opened inside another on the same thread joins the
outer one (a helper that audits joins the decision it is part of). Leaving the outermost
block commits; an unexpected error rolls back. A refusal or an impossible request (any
`ChatopsError`) is a decision on record: what was written before it, its audit row, stays.
After a commit, the events written in it are announced: the outbox's workers wake, and live
listeners (a terminal following a run) see them at once. The store says which of its errors
are transient (`is_transient`: the database down, restarting, its disk full), so a writer
that must outlast an outage (the runner) retries those and nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from chatops.engine.events import Event
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
from chatops.errors import ChatopsError, StoreUnavailable

log = logging.getLogger(__name__)

#: Errors after which the transaction is still committed: a refusal is a decision on record.
KEEP_ON = (ChatopsError,)


class Transaction:
    """What a store adapter implements: repositories over one transaction."""

    plans: Plans
    runs: Runs
    steps: Steps
    approvals: Approvals
    audit: Audit
    postmortems: PostMortemStore
    events: Outbox
    agents: Agents
    freezes: Freezes

    def commit(self) -> list[Event]:
        """Commit; return the events written in this transaction."""
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError


class Transactions:
    def __init__(
        self,
        begin: Callable[[], Transaction],
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
    def active(self) -> Transaction | None:
        tx: Transaction | None = getattr(self._local, "tx", None)
        return tx

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


class _Block:
    def __init__(self, owner: Transactions) -> None:
        self._owner = owner
        self._tx: Transaction | None = None
        self._outer = False

    def __enter__(self) -> Transaction:
        tx = self._owner.active
        if tx is None:
            tx = self._owner._begin()
            self._owner._local.tx = tx
            self._outer = True
        self._tx = tx
        return tx

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._outer or self._tx is None:
            return
        self._owner._local.tx = None
        if exc is None or isinstance(exc, KEEP_ON):
            events = self._tx.commit()
            self._owner._committed(events)
        else:
            try:
                self._tx.rollback()
            except Exception:  # the connection may be gone with the database: nothing to undo
                log.debug("rollback failed", exc_info=True)
