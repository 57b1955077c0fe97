"""Consumers of the engine's events that must never slow or fail a run.

`Background` hands every event to its consumer on a thread of its own, in order: the runner
only appends to a queue, so neither a slow Slack (timeouts, 429s, 5xx and their retries)
nor a failing consumer reaches the SSH read loop or a step's result. A consumer that raises
is logged with the event's type and goes on with the next event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from dataclasses import replace

from chatops.engine.events import Event, StepOutput
from chatops.engine.ports import Notifier

log = logging.getLogger(__name__)
_STOP = object()


class Background:
    def __init__(self, consumer: Notifier, name: str) -> None:
        self.consumer = consumer
        self.name = name
        self._queue: queue.Queue[object] = queue.Queue()
        self._busy = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"chatops-{name}", daemon=True)
        self._thread.start()

    def publish(self, event: Event) -> None:
        with self._lock:
            self._busy += 1
        self._queue.put(event)

    @property
    def pending(self) -> bool:
        """Events taken but not yet handled (tests and shutdown wait on it)."""
        with self._lock:
            return self._busy > 0

    def stop(self, timeout: float = 10.0) -> None:
        """Handle what is queued, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        held: deque[object] = deque()
        while True:
            item = held.popleft() if held else self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Event)
            taken = 1
            if isinstance(item, StepOutput):  # behind a slow consumer: one event, all the lines
                item, taken, nxt = self._merge(item)
                if nxt is not None:
                    held.append(nxt)
            try:
                self.consumer.publish(item)
            except Exception:
                log.exception(
                    "%s could not handle %s of run %s", self.name, type(item).__name__, item.run.id
                )
            finally:
                with self._lock:
                    self._busy -= taken

    def _merge(self, first: StepOutput) -> tuple[StepOutput, int, object | None]:
        """Join the output events queued behind `first` for the same run, step and host."""
        chunks, taken = [first.chunk], 1
        nxt: object | None = None
        while True:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                nxt = None
                break
            same = isinstance(nxt, StepOutput) and (nxt.run.id, nxt.step, nxt.host) == (
                first.run.id,
                first.step,
                first.host,
            )
            if not same:
                break
            assert isinstance(nxt, StepOutput)
            chunks.append(nxt.chunk)
            taken += 1
        if taken == 1:
            return first, 1, nxt
        return replace(first, chunk="".join(chunks)), taken, nxt
