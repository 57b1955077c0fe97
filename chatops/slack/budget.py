"""One Slack budget per workspace and method, shared by every run and every thread.

Slack limits each Web API method per workspace, not per run: `chat.update` and
`reactions.add` are Tier 3 (about 50 calls a minute, short bursts tolerated),
`chat.postEphemeral`, `views.*` and the file upload methods Tier 4 (about 100), and
`chat.postMessage` about one message a second per channel. Every call the bot makes takes a
token from its method's bucket first (`acquire`); a 429's `Retry-After` pauses that method
for every caller (`pause`), not one thread.

Callers say how much their call matters (`Priority`, set per thread with `at`): a person
waiting on a view or a private answer first, then what a person must act on (a plan's
buttons, a prompt, a gate, an escalation), then final states (a run's end, its summary, the
plan's outcome), then a step's result, and progress last. A waiter takes a token only when
no better waiter wants one, and progress may never spend a bucket's last half: when ten
runs print at once, a run's end still reaches Slack within seconds.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from enum import IntEnum

from chatops.settings import Rate as Rate
from chatops.settings import parse_rates as parse_rates


class Priority(IntEnum):
    NOW = 0  # a person is waiting on this call (a view to open, a private answer)
    ACT = 1  # something a person must act on (buttons, a prompt, a gate, an escalation)
    FINAL = 2  # a run's final state (its end, its summary, the plan's outcome)
    STEP = 3  # a step's result: final too, but a run's end goes first
    PROGRESS = 4  # progress: the first to be coalesced or skipped


TIER_2 = Rate(20, 5)
TIER_3 = Rate(50, 20)
TIER_4 = Rate(100, 30)
POST_PER_CHANNEL = Rate(60, 4)
POST = "chat.postMessage"

#: Slack's published tiers for the methods chatops calls (chat.postMessage: per channel).
SLACK_TIERS: dict[str, Rate] = {
    POST: POST_PER_CHANNEL,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "reactions.add": TIER_3,
    "conversations.open": TIER_3,
    "chat.postEphemeral": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "users.info": TIER_4,
    "usergroups.users.list": TIER_2,
}

#: Our pace is a little under Slack's: a call's token is taken here and counted there a few
#: milliseconds later, and a late one makes the next look early to Slack.
PACE = 0.9
PROGRESS_RESERVE = 0.5  # of a bucket's burst, kept from progress for what matters more


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.at = now
        self.paused_until = 0.0
        self.waiters: dict[int, int] = {}  # waiter id -> its priority now

    def refill(self, now: float) -> None:
        if now <= self.at:  # paused: the bucket fills again from the pause's end
            return
        per_second = self.rate.per_minute * PACE / 60.0
        self.tokens = min(float(self.rate.burst), self.tokens + (now - self.at) * per_second)
        self.at = now

    def floor(self, priority: int) -> float:
        """Tokens a caller of this priority must leave in the bucket."""
        if priority < Priority.PROGRESS:
            return 0.0
        return float(math.floor(self.rate.burst * PROGRESS_RESERVE))  # a burst of 1 keeps 0

    def wait_for(self, priority: int, now: float) -> float:
        """Seconds until a token is there for this priority (0: now)."""
        if now < self.paused_until:
            return self.paused_until - now
        need = 1.0 + self.floor(priority) - self.tokens
        return 0.0 if need <= 0 else need / (self.rate.per_minute * PACE / 60.0)


class SlackBudget:
    def __init__(
        self,
        rates: Mapping[str, Rate] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(SLACK_TIERS if rates is None else rates)
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._cond = threading.Condition()
        self._ids = iter(range(1, 1 << 62))
        self._local = threading.local()

    # -- the caller's priority ---------------------------------------------------------------
    @contextlib.contextmanager
    def at(self, priority: Priority) -> Iterator[None]:
        """Calls made on this thread inside the block have this priority."""
        before = getattr(self._local, "priority", None)
        self._local.priority = priority
        try:
            yield
        finally:
            self._local.priority = before

    @property
    def priority(self) -> Priority:
        """This thread's priority: NOW unless set (a listener answers a person)."""
        value = getattr(self._local, "priority", None)
        return Priority.NOW if value is None else Priority(value)

    # -- tokens ----------------------------------------------------------------------------
    def _bucket(self, method: str, channel: str | None) -> _Bucket | None:
        rate = self.rates.get(method)
        if rate is None:
            return None
        key = (method, (channel or "") if method == POST else "")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, self.clock())
        return bucket

    def acquire(
        self,
        method: str,
        channel: str | None = None,
        priority: Priority | Callable[[], Priority] | None = None,
        timeout: float | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> bool:
        """Take a token for one call; False if none came within `timeout` (None: wait as
        long as it takes) or `cancelled()` turned true (asked on each wake-up: `poke`).
        `priority` may be a function: it is asked again on each wake-up (the message desk
        waits with the best priority it has at the moment)."""
        rank: Callable[[], int]
        if priority is None:
            fixed = self.priority
            rank = lambda: fixed  # noqa: E731
        elif callable(priority):
            rank = priority
        else:
            rank = lambda: priority  # noqa: E731
        deadline = None if timeout is None else self.clock() + timeout
        me = next(self._ids)
        with self._cond:
            bucket = self._bucket(method, channel)
            if bucket is None:
                return True
            try:
                while True:
                    now = self.clock()
                    bucket.refill(now)
                    mine = rank()
                    bucket.waiters[me] = mine
                    wait = bucket.wait_for(mine, now)
                    first = min(bucket.waiters.items(), key=lambda w: (w[1], w[0]))[0] == me
                    if wait == 0 and first:
                        bucket.tokens -= 1
                        return True
                    if deadline is not None and now >= deadline:
                        return False
                    if cancelled is not None and cancelled():
                        return False
                    nap = wait if first and wait > 0 else 0.25
                    if deadline is not None:
                        nap = min(nap, deadline - now)
                    self._cond.wait(max(nap, 0.005))
            finally:
                bucket.waiters.pop(me, None)
                self._cond.notify_all()

    def room(self, method: str, channel: str | None, priority: Priority) -> bool:
        """A call of this priority could take a token now, or nobody else waits for one (it
        would wait its turn alone). Nothing is taken."""
        with self._cond:
            bucket = self._bucket(method, channel)
            if bucket is None:
                return True
            bucket.refill(self.clock())
            return bucket.wait_for(priority, self.clock()) == 0 or not bucket.waiters

    def pause(self, method: str, seconds: float, channel: str | None = None) -> None:
        """Slack said 429: nobody calls this method (in this channel, for posts) for
        `seconds`, and its bucket starts empty after that."""
        with self._cond:
            bucket = self._bucket(method, channel)
            if bucket is None:
                return
            until = self.clock() + max(seconds, 0.0)
            bucket.paused_until = max(bucket.paused_until, until)
            bucket.tokens = min(bucket.tokens, 0.0)
            bucket.at = max(bucket.at, bucket.paused_until)
            self._cond.notify_all()

    def poke(self) -> None:
        """Priorities changed (a better message is waiting): waiters look again."""
        with self._cond:
            self._cond.notify_all()
