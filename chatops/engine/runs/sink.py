"""Streamed output, kept and told in chunks.

The executor's reading loop only appends to a buffer (memory, then disk): it never waits
for the store, so a slow or absent database never stalls the remote command. Chunks are
written when due, one transaction each (the output row and the event that tells of it);
a write that fails for a transient reason leaves its chunk first in line for the next try.
At a step's end `flush(durable=True)` writes everything, waiting out an outage up to the
writer's patience.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chatops.engine.domain import events as ev
from chatops.engine.runs.durable import Durable
from chatops.engine.runs.spool import OutputBuffer

__all__ = ["FLUSH_BYTES", "FLUSH_SECONDS", "Sink"]

FLUSH_BYTES = 32 * 1024
FLUSH_SECONDS = 0.5  # output reaches its readers at most this late (and once per chunk)


class Sink:
    """Buffers streamed output; writes it, and the event that tells of it, in one transaction
    per chunk of at most FLUSH_BYTES or FLUSH_SECONDS: not a row per line."""

    def __init__(
        self,
        durable: Durable,
        rec: int,
        event: Callable[[str], ev.StepOutput],
        buffer: OutputBuffer | None = None,
    ) -> None:
        self._durable = durable
        self._rec = rec
        self._event = event
        self._buf = buffer or OutputBuffer()
        self._pending = ""  # a chunk taken from the buffer, not yet stored
        self._since = 0.0
        self._lock = threading.Lock()  # the buffer
        self._writing = threading.Lock()  # one writer at a time, in order

    def __call__(self, chunk: str) -> None:
        with self._lock:
            if not len(self._buf) and not self._pending:
                self._since = time.monotonic()
            self._buf.add(chunk)
            due = len(self._buf) >= FLUSH_BYTES or time.monotonic() - self._since >= FLUSH_SECONDS
        if due and self._writing.acquire(blocking=False):
            try:
                self._write(durable=False)
            finally:
                self._writing.release()

    @property
    def waiting(self) -> int:
        """Characters not stored yet."""
        with self._lock:
            return len(self._buf) + len(self._pending)

    def flush(self, older_than: float = 0.0, durable: bool = False) -> None:
        """Store what waits (if it waited `older_than`). `durable`: wait out an outage and
        raise StoreLost past the writer's patience; otherwise one try per chunk."""
        with self._lock:
            if not (len(self._buf) or self._pending):
                return
            if time.monotonic() - self._since < older_than:
                return
        if durable:
            with self._writing:
                self._write(durable=True)
        elif self._writing.acquire(blocking=False):
            try:
                self._write(durable=False)
            finally:
                self._writing.release()

    def rest(self) -> tuple[str, ev.StepOutput | None]:
        """At the step's end: what was not stored yet, and the event that tells of it, for
        the caller to store with the step's end, one transaction instead of two (a step on
        500 hosts writes 500 fewer); it stays here until `stored()`, so a failed write
        leaves it to be salvaged. More than a chunk is stored here first, waiting out an
        outage (StoreLost past the writer's patience)."""
        with self._writing:  # a chunk being written by the reading thread goes first
            with self._lock:
                big = len(self._buf) + len(self._pending) > FLUSH_BYTES
            if big:
                self._write(durable=True)
            with self._lock:
                self._pending += self._buf.take(FLUSH_BYTES)
                text = self._pending
        return text, (self._event(text) if text else None)

    def stored(self, text: str) -> None:
        """`text` (from `rest()`) is stored."""
        with self._lock:
            if self._pending == text:
                self._pending = ""

    def close(self) -> None:
        self._buf.close()

    def _write(self, durable: bool) -> None:
        while True:
            if not self._pending:
                with self._lock:
                    self._pending = self._buf.take(FLUSH_BYTES)
                    if not self._pending:
                        return
            text = self._pending
            if durable:
                for attempt in self._durable.attempts("storing a step's output"):
                    with attempt as t:
                        t.steps.append_output(self._rec, text)
                        t.events.add(self._event(text))
                        t.commit()
            else:
                attempt = next(self._durable.attempts("storing a step's output"))
                with attempt as t:
                    t.steps.append_output(self._rec, text)
                    t.events.add(self._event(text))
                    t.commit()
                if not attempt.ok:
                    return  # the store is unavailable: the chunk waits for the next try
            with self._lock:
                self._pending = ""
                self._since = time.monotonic()
