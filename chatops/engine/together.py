"""Small writes from many threads, committed together (group commit, no thread of its own).

A step on 500 hosts writes 1,000 small records (each host's start and end) from its worker
threads. One transaction each, they queue for the store's write lock, and the bookkeeping of
a transaction (a connection checked out, BEGIN, COMMIT, the session's set-up) costs more CPU
than the row. Here the first writer to arrive leads: it writes its own work and whatever
queued meanwhile in one unit of work; writers that arrived while it committed wait, and the
first of them leads the next batch. A lone writer pays one transaction, as before; a burst
pays a few.

A batch that fails is written again one piece at a time, each in a unit of its own, so one
piece's error (a bug, a constraint) is that piece's alone; a store outage (an error the
store calls transient) reaches every writer of the batch at once, each of which decides what
to do (`Durable` waits it out).

    rec = together.write(lambda t: t.steps.start(run_id, "main", "restart", host, now))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from chatops.engine.unit_of_work import Transactions, UnitOfWork

__all__ = ["Together"]

R = TypeVar("R")


class _Piece(Generic[R]):
    def __init__(self, work: Callable[[UnitOfWork], R]) -> None:
        self.work = work
        self.woken = threading.Event()
        self.leads = False
        self.done = False
        self.written = False
        self.value: R | None = None
        self.error: BaseException | None = None

    def result(self) -> R:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Together:
    """`write(work)`: `work(t)` in a unit of work shared with the writers of the moment,
    committed before `write` returns; its result, or its own error."""

    def __init__(self, tx: Transactions, max_batch: int = 100) -> None:
        self.tx = tx
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Piece[Any]] = []
        self._writing = False
        self.batches = 0  # units of work committed (a measure for tests and benchmarks)

    @property
    def waiting(self) -> int:
        """Writers queued behind the batch being written."""
        with self._lock:
            return len(self._queue)

    def write(self, work: Callable[[UnitOfWork], R]) -> R:
        if self.tx.open:  # the leader would wait on this thread's own transaction
            raise RuntimeError("a unit of work is open on this thread already")
        piece: _Piece[R] = _Piece(work)
        with self._lock:
            self._queue.append(piece)
            if not self._writing:
                self._writing = piece.leads = True
        while not piece.leads and not piece.done:
            piece.woken.wait()
            piece.woken.clear()
        if not piece.done:
            self._lead()
        return piece.result()

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: len(batch)]
        try:
            self._write(batch)
        except BaseException as e:  # not an error of the pieces' (an interrupt): all hear it
            for piece in batch:
                if not piece.written and piece.error is None:
                    piece.error = e
            raise
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._writing = False
                else:
                    following.leads = True
            for piece in batch:
                piece.done = True
                piece.woken.set()
            if following is not None:
                following.woken.set()

    def _write(self, batch: list[_Piece[Any]]) -> None:
        try:
            with self.tx() as t:
                values = [piece.work(t) for piece in batch]
                t.commit()
        except Exception as e:
            if len(batch) == 1 or self.tx.is_transient(e):  # the store is away: all hear it
                for piece in batch:
                    piece.error = e
                return
            for piece in batch:  # one at a time: each piece its own outcome
                self._write([piece])
            return
        self.batches += 1
        for piece, value in zip(batch, values, strict=True):
            piece.value, piece.written = value, True
