"""One requester cannot fill a channel's queue: Slack posts one message a second per channel,
so a flood of requests from one person (or one stuck script) would hold every plan behind
it, a hotfix's too. At most `per_user` of a person's requests wait to be posted in a channel;
past that a request is refused, and the person is told so (once every `tell_every` seconds,
not once per request: the refusal must cost less than the request)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["PER_USER", "Admission"]

PER_USER = 5  # a person's requests waiting to be posted in one channel
TELL_EVERY = 30.0


class Admission:
    def __init__(
        self,
        per_user: int = PER_USER,
        tell_every: float = TELL_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.tell_every = tell_every
        self.clock = clock
        self._waiting: dict[tuple[str, str], int] = {}
        self._told: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def admit(self, user: str, channel: str) -> bool:
        """Take a place for one request of `user` in `channel`; False when they are full."""
        key = (user, channel)
        with self._lock:
            if self._waiting.get(key, 0) >= self.per_user:
                return False
            self._waiting[key] = self._waiting.get(key, 0) + 1
            return True

    def release(self, user: str, channel: str) -> None:
        key = (user, channel)
        with self._lock:
            left = self._waiting.get(key, 0) - 1
            if left > 0:
                self._waiting[key] = left
            else:
                self._waiting.pop(key, None)

    def refusal(self, user: str, channel: str) -> str | None:
        """What to tell a refused person, or None if they were told a moment ago."""
        key = (user, channel)
        now = self.clock()
        with self._lock:
            if now - self._told.get(key, -1e9) < self.tell_every:
                return None
            self._told[key] = now
        return (
            f":no_entry: You have {self.per_user} requests waiting to be posted in this "
            "channel (Slack posts one message a second here), so this one was not taken. "
            "Send it again once they are posted; a `/hotfix` always goes first."
        )
