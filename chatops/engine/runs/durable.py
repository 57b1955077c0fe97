"""Writes that outlast a store outage: retried with backoff while the store is unavailable.

A run's records must survive a database restart or a full disk: the remote command goes on
meanwhile, and its end must still be written truthfully. Only errors the store calls
transient are retried (`Transactions.is_transient`); anything else is a bug and raised at
once. Past `patience` seconds of one outage the writer gives up with `StoreLost`, which the
runner turns into an interrupted run (said once the store is back).

    for attempt in durable.attempts("recording the end of step restart"):
        with attempt as t:
            t.steps.finish(...)
            t.commit()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TypeVar

from chatops.engine.together import Together
from chatops.engine.unit_of_work import Transactions, UnitOfWork, _Block
from chatops.errors import StoreUnavailable

__all__ = ["FIRST_DELAY", "MAX_DELAY", "Attempt", "Durable", "StoreLost"]

log = logging.getLogger(__name__)

R = TypeVar("R")

FIRST_DELAY = 0.2
MAX_DELAY = 5.0


class StoreLost(Exception):
    """The store stayed unavailable longer than the writer's patience."""

    def __init__(self, what: str, seconds: float, cause: BaseException | None) -> None:
        self.what = what
        self.seconds = seconds
        self.cause = cause
        why = f": {_short(cause)}" if cause is not None else ""
        super().__init__(f"the database was unavailable for {seconds:.0f} s while {what}{why}")


class Attempt:
    """One try of a write: a unit of work that swallows a transient failure (its commit's
    included) and remembers it."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx
        self._block: _Block | None = None
        self.ok = False
        self.error: BaseException | None = None

    def __enter__(self) -> UnitOfWork:
        block = self._tx()
        try:
            t = block.__enter__()
        except Exception as e:
            if not self._tx.is_transient(e):
                raise
            return _Unavailable(e)  # the body fails at its first use, and is retried
        self._block = block
        return t

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._block is None:  # no transaction was begun
            self.error = exc
            return exc is not None and self._tx.is_transient(exc)
        try:
            self._block.__exit__(exc_type, exc, tb)  # rolled back unless the body committed
        except Exception as e:  # a refusal's audit row could not be written
            if not self._tx.is_transient(e):
                raise
            self.error = e
            return True
        if exc is not None:
            if not self._tx.is_transient(exc):
                return False
            self.error = exc
            return True
        self.ok = True
        return False


class _Unavailable(UnitOfWork):
    """Stands for a unit of work that could not be begun: every repository raises."""

    def __init__(self, cause: BaseException) -> None:  # no repositories: they are looked up
        self._cause = cause

    def commit(self) -> None:
        raise StoreUnavailable(str(self._cause)) from self._cause

    def __getattr__(self, name: str) -> object:
        raise StoreUnavailable(str(self._cause)) from self._cause


class Durable:
    """Hands out attempts until one commits, sleeping with backoff between them."""

    def __init__(
        self,
        tx: Transactions,
        patience: float,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tx = tx
        self.patience = patience
        self.sleep = sleep
        self.monotonic = monotonic
        self.group = Together(tx)

    def attempts(self, what: str, patience: float | None = None) -> Iterator[Attempt]:
        limit = self.patience if patience is None else patience
        began: float | None = None
        delay = FIRST_DELAY
        while True:
            attempt = Attempt(self.tx)
            yield attempt
            if attempt.ok:
                return
            if attempt.error is None:
                return  # the block was left without entering it
            now = self.monotonic()
            if began is None:
                began = now
                log.warning("the store is unavailable while %s: %s", what, _short(attempt.error))
            if now - began >= limit:
                raise StoreLost(what, now - began, attempt.error)
            self.sleep(min(delay, max(0.0, began + limit - now)))
            delay = min(delay * 2, MAX_DELAY)

    def together(
        self, what: str, fn: Callable[[UnitOfWork], R], patience: float | None = None
    ) -> R:
        """`fn(t)` (its writes, no commit) committed with the other writers of the moment
        (`Together`), retried like an attempt while the store is unavailable; its result."""
        limit = self.patience if patience is None else patience
        began: float | None = None
        delay = FIRST_DELAY
        while True:
            try:
                return self.group.write(fn)
            except Exception as e:
                if not self.tx.is_transient(e):
                    raise
                error: BaseException = e
            now = self.monotonic()
            if began is None:
                began = now
                log.warning("the store is unavailable while %s: %s", what, _short(error))
            if now - began >= limit:
                raise StoreLost(what, now - began, error)
            self.sleep(min(delay, max(0.0, began + limit - now)))
            delay = min(delay * 2, MAX_DELAY)

    def write(
        self, what: str, fn: Callable[[UnitOfWork], None], patience: float | None = None
    ) -> None:
        for attempt in self.attempts(what, patience):
            with attempt as t:
                fn(t)
                t.commit()


def _short(exc: BaseException | None) -> str:
    text = str(exc or "").strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
