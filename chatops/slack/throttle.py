"""At most one call per key per interval; the last call in a burst always happens."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._pending: dict[str, Callable[[], None]] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, fn: Callable[[], None]) -> None:
        with self._lock:
            now = self.clock()
            wait = self._last.get(key, -1e9) + self.interval - now
            if wait <= 0 and key not in self._timers:
                self._last[key] = now
                run_now = True
            else:
                run_now = False
                self._pending[key] = fn
                if key not in self._timers:
                    t = threading.Timer(max(wait, 0.01), self._fire, args=(key,))
                    t.daemon = True
                    self._timers[key] = t
                    t.start()
        if run_now:
            fn()

    def _fire(self, key: str) -> None:
        with self._lock:
            fn = self._pending.pop(key, None)
            self._timers.pop(key, None)
            if fn is not None:
                self._last[key] = self.clock()
        if fn is not None:
            fn()

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._pending)
