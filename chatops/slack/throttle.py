"""At most one call per key per interval; the last call in a burst always happens.

The interval runs from the end of one call to the start of the next, and calls for one key
never overlap: however slow Slack answers, two updates of a message reach it at least an
interval apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}  # when the key's last call ended
        self._pending: dict[str, Callable[[], None]] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, key: str, fn: Callable[[], None]) -> None:
        with self._lock:
            wait = self._last.get(key, -1e9) + self.interval - self.clock()
            if wait <= 0 and key not in self._timers and key not in self._running:
                self._running.add(key)
            else:
                self._pending[key] = fn  # the latest wins
                if key not in self._timers and key not in self._running:
                    self._schedule(key, wait)
                return
        self._call(key, fn)

    def _schedule(self, key: str, wait: float) -> None:
        t = threading.Timer(max(wait, 0.01), self._fire, args=(key,))
        t.daemon = True
        self._timers[key] = t
        t.start()

    def _fire(self, key: str) -> None:
        with self._lock:
            self._timers.pop(key, None)
            fn = self._pending.pop(key, None)
            if fn is None:
                return
            self._running.add(key)
        self._call(key, fn)

    def _call(self, key: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        finally:
            with self._lock:
                self._running.discard(key)
                self._last[key] = self.clock()
                if key in self._pending and key not in self._timers:
                    self._schedule(key, self.interval)

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._pending) or bool(self._running)
