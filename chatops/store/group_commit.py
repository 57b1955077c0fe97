"""Many small writes from many threads, committed together by one writer thread.

The fast ack stores each Slack request before its 200. Twenty requests at once, each in a
transaction of its own, queue for the database's write lock (SQLite's busy handler sleeps
between tries) and commit one after another: the last 200 waited for nineteen commits.
Here the writer takes everything that queued while it was committing and writes it in one
transaction, so a burst costs about two commits, and nobody sleeps on a lock.

A caller gets a `Future`: `result()` from a thread, `asyncio.wrap_future` from the event
loop (no threadpool hop). A batch that fails fails every future in it: the caller answers
5xx and Slack (or the user) tries again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """`write_many(items) -> results` (one result per item, in order) on a thread of its own."""

    def __init__(
        self, write_many: Callable[[Sequence[T]], Sequence[R]], name: str, max_batch: int = 200
    ) -> None:
        self._write_many = write_many
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, item: T) -> Future[R]:
        done: Future[R] = Future()
        with self._lock:
            if self._closed:
                done.set_exception(RuntimeError(f"{self._name} is closed"))
                return done
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put((item, done))
        return done

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            results = self._write_many([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)}")
        except BaseException as e:  # every caller hears of it; the writer goes on
            for _, done in batch:
                done.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        for (_, done), result in zip(batch, results, strict=True):
            done.set_result(result)
