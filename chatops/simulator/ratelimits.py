"""Slack's rate limits, as the Web API stand-in enforces them when asked to.

Slack limits each method per workspace in tiers (Tier 2 about 20 calls a minute, Tier 3
about 50, Tier 4 about 100, short bursts tolerated), and `chat.postMessage` about one
message a second per channel. A call past its limit is answered 429 with `Retry-After`
(whole seconds) and `{"ok": false, "error": "ratelimited"}`; it does not count. The tiers
are the ones the bot's own budget keeps to (`chatops/slack/budget.py`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from chatops.slack.budget import POST, POST_PER_CHANNEL, SLACK_TIERS, Rate

SLACK = {m: r for m, r in SLACK_TIERS.items() if m != POST}


class Bucket:
    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = float(rate.burst)
        self.at = clock()

    def take(self) -> float:
        """0 if the call may go now (and it is counted), else the seconds until it may."""
        now = self.clock()
        per_second = self.rate.per_minute / 60.0
        self.tokens = min(self.rate.burst, self.tokens + (now - self.at) * per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / per_second


class Limits:
    """One bucket per method (and per channel for chat.postMessage), as Slack keeps them."""

    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        post_per_channel: Rate = POST_PER_CHANNEL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(SLACK if rates is None else rates)
        self.post_per_channel = post_per_channel
        self.clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()

    def check(self, method: str, args: dict[str, Any]) -> int | None:
        """None if the call may go, else its Retry-After in whole seconds."""
        if method == "chat.postMessage":
            key, rate = (method, str(args.get("channel", ""))), self.post_per_channel
        elif method in self.rates:
            key, rate = (method, ""), self.rates[method]
        else:
            return None
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = Bucket(rate, self.clock)
            wait = bucket.take()
        return None if wait == 0 else max(1, math.ceil(wait))
