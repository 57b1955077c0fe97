"""Streamed output, kept and told in chunks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chatops.engine import events as ev
from chatops.engine.unit_of_work import Transactions

FLUSH_BYTES = 32 * 1024
FLUSH_SECONDS = 0.5  # output reaches its readers at most this late (and once per chunk)


class Sink:
    """Buffers streamed output; writes it, and the event that tells of it, in one transaction
    per chunk of at most FLUSH_BYTES or FLUSH_SECONDS: not a row per line."""

    def __init__(self, tx: Transactions, rec: int, event: Callable[[str], ev.StepOutput]) -> None:
        self._tx = tx
        self._rec = rec
        self._event = event
        self._buf: list[str] = []
        self._size = 0
        self._since = 0.0
        self._lock = threading.Lock()

    def __call__(self, chunk: str) -> None:
        with self._lock:
            if not self._buf:
                self._since = time.monotonic()
            self._buf.append(chunk)
            self._size += len(chunk)
            if self._size >= FLUSH_BYTES or time.monotonic() - self._since >= FLUSH_SECONDS:
                self._flush_locked()

    def flush(self, older_than: float = 0.0) -> None:
        with self._lock:
            if self._buf and time.monotonic() - self._since >= older_than:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if self._buf:
            text = "".join(self._buf)
            with self._tx() as t:
                t.steps.append_output(self._rec, text)
                t.events.add(self._event(text))
            self._buf, self._size = [], 0
