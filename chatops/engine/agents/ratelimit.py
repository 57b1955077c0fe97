"""Per-agent rate limits: a token bucket each, refilled at `per_minute`, holding `burst`.

Kept in the process that serves the agent (each replica limits on its own): a limit protects
this process and the people reading the channel from a looping agent, it is not an account
quota.
"""

from __future__ import annotations

import threading

from chatops.engine.ports import Clock
from chatops.errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock: Clock) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one request of `key`'s allowance, or raise RateLimited with the wait."""
        now = self.clock.now().timestamp()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(max(1.0, (1.0 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1.0, now)
