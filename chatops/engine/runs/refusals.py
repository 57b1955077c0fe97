"""Refused links, per client address: each is on record while they are few; past the limit
they are answered 429 and counted, and one summary row a minute says how many came from
where ("312 refused link attempts from 203.0.113.5 in the last minute"). Nobody writes to
the audit chain a row a request without a valid link."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from chatops.engine.ports import Clock
from chatops.errors import RateLimited

__all__ = ["PER_MINUTE", "SUMMARY_EVERY", "Refusals"]

PER_MINUTE = 10  # refused links a client address may have on record a minute
SUMMARY_EVERY = 60.0  # seconds between summary rows for one address


@dataclass
class _Address:
    tokens: float
    at: float
    unsaid: int = 0  # refusals past the limit not yet summarised
    since: float = 0.0  # when the first of them came


class Refusals:
    def __init__(self, clock: Clock, per_minute: int = PER_MINUTE) -> None:
        self.clock = clock
        self.burst = float(per_minute)
        self.rate = per_minute / 60.0
        self._seen: dict[str, _Address] = {}
        self._lock = threading.Lock()

    def refused(
        self, client: str, record: Callable[[], None], summarise: Callable[[str], None]
    ) -> None:
        """A refused link from `client`: `record` it while within the limit; past it raise
        RateLimited, and `summarise` ("N refused link attempts from ...") at most once a
        minute an address."""
        now = self.clock.now().timestamp()
        said: list[str] = []
        with self._lock:
            seen = self._seen.setdefault(client, _Address(self.burst, now))
            seen.tokens = min(self.burst, seen.tokens + max(0.0, now - seen.at) * self.rate)
            seen.at = now
            if seen.tokens >= 1.0 and not seen.unsaid:
                seen.tokens -= 1.0
                within = True
            else:
                within = False
                if not seen.unsaid:
                    seen.since = now
                seen.unsaid += 1
                if now - seen.since >= SUMMARY_EVERY:
                    said.append(self._summary(client, seen.unsaid, now - seen.since))
                    seen.unsaid, seen.since = 0, now
            self._forget_quiet(now)
        if within:
            record()
            return
        for text in said:
            summarise(text)
        raise RateLimited(max(1.0, (1.0 - seen.tokens) / self.rate))

    def flush(self, summarise: Callable[[str], None]) -> None:
        """Summarise what is counted and not yet said (a flood that stopped)."""
        now = self.clock.now().timestamp()
        with self._lock:
            pending = [(c, s.unsaid, now - s.since) for c, s in self._seen.items() if s.unsaid]
            for c, _n, _t in pending:
                self._seen[c].unsaid = 0
        for client, n, took in pending:
            summarise(self._summary(client, n, took))

    @staticmethod
    def _summary(client: str, n: int, took: float) -> str:
        return f"{n} refused link attempts from {client} in {max(1, round(took))} s"

    def _forget_quiet(self, now: float) -> None:
        """Addresses full again and with nothing to say are forgotten (bounded memory)."""
        if len(self._seen) < 1000:
            return
        for client in [
            c
            for c, s in self._seen.items()
            if not s.unsaid and s.tokens + (now - s.at) * self.rate >= self.burst
        ]:
            del self._seen[client]
