"""The messages the bot keeps current (a run's status, its plan, a step's reply, a prompt),
updated through one desk: `chat.update` is Slack's scarcest method (Tier 3, shared by every
run in the workspace), and most updates are progress nobody needs twice.

- **Latest wins.** `put` records what a message should show (a function that renders it,
  called when the update is sent: the newest state, never a stale one). All updates of one
  message waiting together are one call.
- **Never the same thing twice.** An update whose rendered text and blocks are what Slack
  last accepted for the message is not sent.
- **Most important first.** The senders take the waiting message of the best priority
  (`budget.Priority`; the oldest of equals). Progress waits at least `progress_every`
  between two updates of one message, and never spends the budget's last quarter.
- **Nothing dropped.** An update that fails because Slack is down, slow or limiting is kept
  and sent again, with the state of that moment, however long it takes; a refusal (a
  message deleted, a channel gone) is logged and let go. `wait` lets a caller hold on until
  a final state has landed (the thread's feed does, so a crash cannot lose it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from chatops.slack.budget import Priority, SlackBudget

log = logging.getLogger(__name__)

Rendered = tuple[str, list[dict[str, Any]]]  # text, blocks
Render = Callable[[], Rendered | None]  # None: nothing to show (the run is gone)
METHOD = "chat.update"
#: A message shown and untouched this long is forgotten: memory stays flat however many runs
#: pass. Should it change later, it is a new entry (at worst one update Slack already had).
FORGET_AFTER = 300.0
PRUNE_EVERY = 30.0  # seconds between two looks for messages to forget (on a put)
MAX_BACKOFF = 10.0  # between tries of one message; any success (Slack is back) ends them all


@dataclass
class _Entry:
    channel: str
    ts: str
    render: Render | None  # None once shown: what it captured (a run, a plan) is let go
    priority: Priority
    version: int = 1
    sent_version: int = 0
    taken: int = 0  # the version a sender took (in flight or sent): later puts are pending
    taken_priority: Priority = Priority.PROGRESS  # the priority it was taken at
    taken_since: float = 0.0  # and since when it was waiting
    accepted: str | None = None  # digest of what Slack last accepted
    dirty_since: float = 0.0
    not_before: float = 0.0
    last_sent: float = -1e9
    busy: bool = False
    failures: int = 0
    failing_since: float | None = None
    touched: float = 0.0


def digest(rendered: Rendered) -> str:
    text, blocks = rendered
    raw = json.dumps([text, blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class MessageDesk:
    def __init__(
        self,
        update: Callable[[str, str, str, list[dict[str, Any]]], object],
        budget: SlackBudget,
        *,
        paid: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
        transient: Callable[[Exception], bool] = lambda e: False,
        senders: int = 3,
        progress_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        first_retry: float = 1.0,
    ) -> None:
        self._update = update  # (channel, ts, text, blocks): chat.update
        self.budget = budget
        self._paid = paid
        self._transient = transient
        self.progress_every = progress_every
        self.clock = clock
        self.first_retry = first_retry  # then doubled per failure, up to MAX_BACKOFF
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.sent = 0
        self.skipped = 0  # renders identical to what Slack had: not sent
        self._pruned_at = clock()
        self._threads = [
            threading.Thread(target=self._loop, name=f"chatops-desk-{i}", daemon=True)
            for i in range(senders)
        ]
        self._started = False

    # -- for the notifier ------------------------------------------------------------------
    def put(self, channel: str, ts: str, render: Render, priority: Priority) -> tuple[str, int]:
        """The message should show what `render` returns: sent soon, at this priority (or a
        better one already waiting). Returns a ticket for `wait`."""
        self._start()
        now = self.clock()
        with self._cond:
            key = (channel, ts)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(channel, ts, render, priority, dirty_since=now)
            else:
                # clean: nothing waits beyond what a sender took; an update in flight
                # does not lend its priority (and its freedom from pacing) to later ones
                clean = entry.taken >= entry.version
                entry.render = render
                entry.version += 1
                entry.priority = priority if clean else min(entry.priority, priority)
                if clean:
                    entry.dirty_since = now
                if priority < Priority.PROGRESS:
                    entry.not_before = min(entry.not_before, now)  # no progress pacing
            if priority >= Priority.PROGRESS:
                entry.not_before = max(entry.not_before, entry.last_sent + self.progress_every)
            entry.touched = now
            version = entry.version
            if now - self._pruned_at >= PRUNE_EVERY:
                self._prune(now)
            self._cond.notify_all()
        self.budget.poke()
        return (f"{channel}:{ts}", version)

    def wait(self, ticket: tuple[str, int], timeout: float) -> bool:
        """True once the ticket's state (or a later one) was sent or let go."""
        name, version = ticket
        channel, _, ts = name.partition(":")
        deadline = self.clock() + timeout
        with self._cond:
            entry = self._entries.get((channel, ts))
            while entry is not None and entry.sent_version < version:
                left = deadline - self.clock()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    @property
    def kept(self) -> int:
        """Messages the desk keeps (pending or shown lately)."""
        with self._cond:
            return len(self._entries)

    name = "slack-updates"  # as /healthz and /metrics name its stall

    @property
    def stalled_for(self) -> float:
        """Seconds the oldest update still failing has been tried (0 when none is)."""
        with self._cond:
            since = [e.failing_since for e in self._entries.values() if e.failing_since]
        return self.clock() - min(since) if since else 0.0

    @property
    def pending(self) -> bool:
        with self._cond:
            return any(e.sent_version < e.version or e.busy for e in self._entries.values())

    def _prune(self, now: float) -> None:
        """Forget messages shown and untouched for FORGET_AFTER (their runs are over)."""
        self._pruned_at = now
        for key, e in list(self._entries.items()):
            if e.sent_version >= e.version and not e.busy and now - e.touched > FORGET_AFTER:
                del self._entries[key]

    def stop(self, drain: float = 10.0) -> None:
        deadline = self.clock() + drain
        while self.pending and self.clock() < deadline:
            time.sleep(0.05)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self.budget.poke()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=5)

    # -- the senders -----------------------------------------------------------------------
    def _start(self) -> None:
        if self._started:
            return
        with self._cond:
            if self._started:
                return
            self._started = True
        for t in self._threads:
            t.start()

    def _ready(self, now: float) -> list[_Entry]:
        return [
            e
            for e in self._entries.values()
            if e.sent_version < e.version and not e.busy and e.not_before <= now
        ]

    def _best_priority(self) -> Priority:
        with self._cond:
            ready = self._ready(self.clock())
            return min((e.priority for e in ready), default=Priority.PROGRESS)

    def _next(self) -> _Entry | None:
        """Wait for a message to update; mark it busy."""
        with self._cond:
            while not self._stop.is_set():
                now = self.clock()
                ready = self._ready(now)
                if ready:
                    entry = min(ready, key=lambda e: (e.priority, e.dirty_since))
                    entry.busy = True
                    return entry
                waiting = [
                    e.not_before
                    for e in self._entries.values()
                    if e.version > e.sent_version and not e.busy
                ]
                nap = min(waiting, default=now + 1.0) - now
                self._cond.wait(min(max(nap, 0.01), 1.0))
        return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            entry = self._next()
            if entry is None:
                return
            try:
                self._send(entry)
            except Exception:  # a bug here must not stop the desk
                log.exception("the message desk could not update %s", entry.ts)
                self._finish(entry, entry.version, None, failed=True)

    def _send(self, entry: _Entry) -> None:
        with self._cond:
            version, render, priority = entry.version, entry.render, entry.priority
            assert render is not None  # pending: a put gave it one
            entry.taken, entry.taken_priority = version, priority
            entry.taken_since = entry.dirty_since
        rendered = render()
        if rendered is None:
            self._finish(entry, version, entry.accepted)
            return
        wanted = digest(rendered)
        if wanted == entry.accepted:
            self.skipped += 1
            self._finish(entry, version, wanted)
            return
        if not self.budget.acquire(
            METHOD,
            entry.channel,
            lambda: min(priority, self._best_priority()),
            timeout=5.0,
            cancelled=self._stop.is_set,  # a stop does not wait out the budget
        ):
            self._release(entry, retry_in=0.0)  # not its turn yet: look again
            return
        text, blocks = rendered
        try:
            with self.budget.at(priority), self._paid():
                self._update(entry.channel, entry.ts, text, blocks)
        except Exception as e:
            if isinstance(e, SlackApiError) and not self._transient(e):
                log.warning(
                    "slack update of %s refused: %s; let go", entry.ts, e.response.get("error")
                )
                entry.failing_since = None
                self._finish(entry, version, entry.accepted, failed=True)
                return
            entry.failures += 1
            if entry.failing_since is None:
                entry.failing_since = self.clock()
            delay = min(MAX_BACKOFF, self.first_retry * 2 ** min(entry.failures - 1, 8))
            log.log(
                logging.DEBUG if getattr(e, "quiet", False) else logging.WARNING,
                "slack update of %s failed (%s); again in %.1f s with the state then",
                entry.ts,
                e,
                delay,
            )
            self._release(entry, retry_in=delay)
            return
        self.sent += 1
        entry.last_sent = self.clock()
        entry.failures = 0
        entry.failing_since = None
        self._finish(entry, version, wanted)
        self._slack_is_back()

    def _slack_is_back(self) -> None:
        """An update went through: the ones waiting out a failure go now, not in 10 s."""
        with self._cond:
            now = self.clock()
            for e in self._entries.values():
                if e.failures and not e.busy:
                    e.failures = 0
                    e.failing_since = None
                    paced = (
                        e.last_sent + self.progress_every if e.priority >= Priority.PROGRESS else 0
                    )
                    e.not_before = max(now, paced) if e.not_before > now else e.not_before
            self._cond.notify_all()

    def _release(self, entry: _Entry, retry_in: float) -> None:
        """What was taken was not sent: it is pending again, at its priority, from its time."""
        with self._cond:
            entry.busy = False
            entry.priority = min(entry.priority, entry.taken_priority)
            entry.dirty_since = min(entry.dirty_since, entry.taken_since)
            entry.taken = entry.sent_version
            entry.not_before = max(entry.not_before, self.clock() + retry_in)
            self._cond.notify_all()

    def _finish(
        self, entry: _Entry, version: int, accepted: str | None, failed: bool = False
    ) -> None:
        with self._cond:
            entry.busy = False
            entry.sent_version = max(entry.sent_version, version)
            if not failed:
                entry.accepted = accepted
            if entry.sent_version < entry.version:  # changed meanwhile: the next state goes
                entry.dirty_since = self.clock()
                if entry.priority >= Priority.PROGRESS:
                    entry.not_before = entry.last_sent + self.progress_every
            else:
                entry.render = None  # shown: nothing it rendered from is kept alive
            self._cond.notify_all()
