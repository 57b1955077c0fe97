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
HELD_FOR = 600.0  # seconds a request left to the event stream keeps its place at most


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
        self._waiting: dict[tuple[str, str], int] = {}  # requests in a task now
        #: runs whose plan the event stream is to post, and since when
        self._held: dict[tuple[str, str], dict[int, float]] = {}
        self._told: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def admit(self, user: str, channel: str, posted: Callable[[int], bool]) -> bool:
        """Take a place for one request of `user` in `channel`; False when they are full.
        A request left to the event stream keeps its place until `posted` says its plan is
        (by this process or another), or for HELD_FOR at most (a plan Slack refused for
        good is never posted)."""
        key = (user, channel)
        now = self.clock()
        with self._lock:
            held = dict(self._held.get(key, {}))
        gone = {r for r, since in held.items() if now - since > HELD_FOR or posted(r)}
        with self._lock:  # `posted` reads the store: not under the lock
            kept = {r: t for r, t in self._held.get(key, {}).items() if r not in gone}
            if kept:
                self._held[key] = kept
            else:
                self._held.pop(key, None)
            if self._waiting.get(key, 0) + len(kept) >= self.per_user:
                return False
            self._waiting[key] = self._waiting.get(key, 0) + 1
            return True

    def release(self, user: str, channel: str, waiting_run: int | None = None) -> None:
        """The request's task ended; `waiting_run`: its plan is left to the event stream,
        and keeps the place until it is posted."""
        key = (user, channel)
        with self._lock:
            left = self._waiting.get(key, 0) - 1
            if left > 0:
                self._waiting[key] = left
            else:
                self._waiting.pop(key, None)
            if waiting_run is not None:
                self._held.setdefault(key, {})[waiting_run] = self.clock()

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
