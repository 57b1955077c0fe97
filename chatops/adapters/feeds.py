"""The outbox's consumers: each follows the stored events on a thread of its own.

A `Feed` reads events after its consumer's position, hands them over in order and records
the new position. The runner and the request handlers only write events in their own
transactions, so neither a slow Slack (timeouts, 429s, 5xx and their retries) nor a failing
consumer reaches an SSH read loop, an ack or a step's result.

- **Positions.** Each consumer's position is stored: a restart delivers what was not
  delivered. One process holds a consumer at a time (a lease it renews); if it dies, another
  takes over when the lease runs out.
- **Failures.** A consumer that raises is retried with backoff (up to a minute between
  tries). A transient failure (Slack down, 5xx, 429; the store away: `keep_trying`) is
  retried until it passes, however long: an event is never skipped for an outage, and the
  stall shows in /healthz and /metrics. Any other error is retried for `give_up_after`
  seconds, then logged and skipped, so one bad event cannot stop the stream for good.
- **Coalescing.** Output events queued behind a slow consumer for the same run, step and host
  are joined into one (its last 64 KiB): after an outage the status message jumps to the
  latest state.
- **Lanes.** A consumer may take several runs at once (`lanes`): each run's events stay in
  order in one lane, and each lane goes on as soon as its own event is handled (a run held
  up at Slack holds up its lane alone, never the next events of the others). The feed reads
  on while the lanes work, up to `batch` events in hand; the position recorded is the last
  event before the oldest one still in hand (a feed of one lane records it every half
  second within a batch, and at its end).
- **At most once.** A consumer that must not repeat itself (Slack posts) implements
  `deliver(stored)` and keys its side effects by the event's id (`Stored.id`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chatops.engine.domain.events import StepOutput
from chatops.engine.ports import Consumer, EventLog, Notifier, Stored

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 60.0
LANE_RETRY = 1.0  # seconds before a lane takes again an item whose handling raised
#: Output events joined behind a slow consumer keep their last characters only: a reader that
#: wants all of a step's output reads it from the store, not from the event stream.
COALESCED_CHARS = 64 * 1024
#: A feed of one lane writes its position this often within a batch, and at its end: each
#: write is a transaction, and a step on 500 hosts is 500 events. After a crash what was
#: handled since the last write is handed over again (deliveries are at least once).
CHECKPOINT = 0.5
#: After a round that caught up, a feed waits this long before the next: events written
#: meanwhile (a step's hosts end one after another) are read and recorded in one round,
#: not in a round each. A person reading the thread does not see a tenth of a second.
GATHER = 0.1


class Published:
    """A `Notifier` as a feed's consumer: it is told each stored event."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def deliver(self, stored: Stored) -> None:
        self.notifier.publish(stored.event)

    def transient(self, exc: BaseException) -> bool:
        return False


class Feed:
    def __init__(
        self,
        events: EventLog,
        consumer: Consumer,
        name: str,
        holder: str,
        *,
        poll: float = 0.5,
        lease: float = 30.0,
        give_up_after: float = 600.0,
        batch: int = 500,
        lanes: int = 1,
        sleep: Callable[[float], None] | None = None,
        keep_trying: Callable[[BaseException], bool] | None = None,
        kinds: frozenset[str] | None = None,
    ) -> None:
        self.events = events
        self.consumer = consumer
        self.name = name
        self.kinds = kinds  # the event types the consumer handles (None: all); others passed over
        self.holder = holder
        self.poll = poll
        self.lease = lease
        self.give_up_after = give_up_after
        self.batch = batch
        self.lanes = lanes
        self._lanes: _Lanes | None = None  # lanes > 1: each run's events in order, at once
        self.position: int | None = None
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._handling = False
        self._thread: threading.Thread | None = None
        self._sleep = sleep
        self._renew_at = 0.0
        self.keep_trying = keep_trying or (lambda _e: False)
        self._stalls: dict[int, float] = {}  # event id -> since when it keeps failing
        self._stored: int | None = None  # the position last written to the store
        self._stored_at = 0.0  # and when (time.monotonic())

    # -- control ---------------------------------------------------------------------------
    def start(self) -> Feed:
        if self._thread is None:
            self._stop.clear()
            try:
                self.position = self._lease()
            except Exception:
                log.exception("the %s feed could not read the outbox", self.name)
            if self.lanes > 1:
                self._lanes = _Lanes(self.lanes, self._handle, self.name, self._wake)
            self._thread = threading.Thread(
                target=self._loop, name=f"chatops-feed-{self.name}", daemon=True
            )
            self._thread.start()
        return self

    def wake(self) -> None:
        """New events were committed (called by the unit of work)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the event in hand, record the position, let go of the lease."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._lanes is not None:
            self._lanes.stop()
            if self.position is not None:
                self.position = self._lanes.safe(self.position)
            self._lanes = None
        try:
            if self.position is not None and self._stored != self.position:
                self._advance(self.position)  # events passed over since the last write
            self.events.release(self.name, self.holder)
        except Exception:
            log.exception("could not release the %s feed", self.name)

    @property
    def pending(self) -> bool:
        """Events written but not yet handled here (tests and shutdown wait on it). False
        when another process holds this consumer: it delivers them."""
        if self._handling or (self._lanes is not None and self._lanes.busy):
            return True
        if self.position is None:
            return False
        return self.events.head() > self.position

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every stored event is handled (or another process holds the consumer)."""
        deadline = time.monotonic() + timeout
        while self.pending:
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        failing_since: float | None = None  # one line when the outbox goes away, one back
        while not self._stop.is_set():
            try:
                moved, full = self._round()
                if failing_since is not None:
                    away = time.monotonic() - failing_since
                    log.warning("the %s feed reads the outbox again (%.0f s)", self.name, away)
                    failing_since = None
            except Exception as e:
                if failing_since is None:
                    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    log.warning("the %s feed cannot read the outbox: %s", self.name, first)
                    log.debug("the outbox failed", exc_info=True)
                    failing_since = time.monotonic()
                moved = full = False
            if not moved:
                self._wake.wait(self.poll)
                self._wake.clear()
            elif not full:  # caught up: let the next events gather a moment
                self._stop.wait(GATHER)

    def _keep_lease(self) -> None:
        """Renew the lease while an event waits to be retried. The store may be away too
        (the same outage): the retry goes on, and the loop renews once it is back."""
        try:
            self._lease()
        except Exception as e:
            log.debug("the %s feed could not renew its lease: %s", self.name, e)

    def _lease(self) -> int | None:
        now = datetime.now(UTC)
        got = self.events.lease(self.name, self.holder, now, now + timedelta(seconds=self.lease))
        self._renew_at = time.monotonic() + self.lease / 3 if got is not None else 0.0
        return got

    def _round(self) -> tuple[bool, bool]:
        """One round: whether the feed moved, and whether it read a whole batch (more may
        be waiting)."""
        if self.position is None or time.monotonic() >= self._renew_at:
            position = self._lease()  # renewed a third of the way, not on every round
            if position is None:
                self.position = None  # another process holds this consumer
                if self._lanes is not None:
                    self._lanes.forget()
                return False, False
            # events passed over since the last write are not read again
            self.position = position if self.position is None else max(position, self.position)
        if self._lanes is not None:
            return self._round_in_lanes()
        read = self.events.read(self.position, self.batch, self.kinds)
        if read.last == self.position:
            return False, False
        self._handling = True
        try:
            return self._deliver(coalesce(read.stored), read.last), read.full
        except _Stopped:
            return False, False  # stopped mid-retry: the next holder starts from the position
        finally:
            self._handling = False

    def _deliver(self, items: list[tuple[Stored, int]], last_read: int) -> bool:
        """Hand `items` over; once all are, the position is the last event read (events the
        consumer does not want are passed over with them)."""
        if not items:  # none it handles: passed over, the position stored now and then
            return self._pass_over(last_read)
        handled: int | None = None  # the position is written every CHECKPOINT, not per event
        since = time.monotonic()
        try:
            for item, last in items:
                if self._stop.is_set():
                    break
                self._handle(item)
                handled = last
                if time.monotonic() - since >= CHECKPOINT:
                    handled, since = None, time.monotonic()
                    if not self._advance(last):
                        return False
            else:
                handled = last_read
        finally:
            if handled is not None:
                self._advance(handled)  # also when stopped mid-retry, or a bug surfaced
        return self.position is not None

    def _round_in_lanes(self) -> tuple[bool, bool]:
        """Read on while the lanes work (up to `batch` events in hand), and record the
        position the lanes have reached (every CHECKPOINT)."""
        lanes = self._lanes
        assert lanes is not None and self.position is not None
        moved = False
        room = self.batch - lanes.in_hand
        full = False
        if room > 0:
            start = lanes.read_to if lanes.read_to is not None else self.position
            read = self.events.read(max(start, self.position), room, self.kinds)
            if read.last != max(start, self.position):
                lanes.put(coalesce(read.stored), read.last)
                moved, full = True, read.full
        safe = lanes.safe(self.position)
        if safe != self.position:
            moved = True
            if self._stored is None or time.monotonic() - self._stored_at >= CHECKPOINT:
                if not self._advance(safe):
                    lanes.forget()  # another process holds the consumer: it goes on
                    return False, False
            else:
                self.position = safe
        return moved, full or (room <= 0 and lanes.in_hand > 0)

    def _advance(self, last: int) -> bool:
        if not self.events.advance(self.name, self.holder, last):
            log.warning("the %s feed lost its lease; another process goes on", self.name)
            self.position = None
            return False
        self.position = self._stored = last
        self._stored_at = time.monotonic()
        return True

    def _pass_over(self, last: int) -> bool:
        """Events this consumer does not handle were read: the position moves past them at
        once, and is stored at most every CHECKPOINT (a transaction each time; after a
        crash they are read again and passed over again, nothing handed over twice)."""
        if self._stored is None or time.monotonic() - self._stored_at >= CHECKPOINT:
            return self._advance(last)
        self.position = last
        return True

    @property
    def stalled_for(self) -> float:
        """Seconds the oldest event still failing has been retried (0 when none is)."""
        stalls = list(self._stalls.values())
        return time.monotonic() - min(stalls) if stalls else 0.0

    def _handle(self, item: Stored) -> None:
        started = time.monotonic()
        delay = 0.5
        try:
            self._handle_until_done(item, started, delay)
        finally:
            self._stalls.pop(item.id, None)

    def _handle_until_done(self, item: Stored, started: float, delay: float) -> None:
        while True:
            try:
                self.consumer.deliver(item)
                return
            except Exception as e:
                quiet = getattr(e, "quiet", False)  # an expected wait, not a failure
                if not quiet:
                    self.failures += 1
                waited = time.monotonic() - started
                kind = type(item.event).__name__
                if not quiet:
                    self._stalls.setdefault(item.id, started)
                if self._stop.is_set():
                    raise _Stopped() from e  # not handled: the position stays where it is
                if waited >= self.give_up_after and not self.keep_trying(e):
                    log.exception(
                        "%s gave up on %s #%s of run %s after %.0fs",
                        self.name,
                        kind,
                        item.id,
                        item.event.run.id,
                        waited,
                    )
                    return
                log.log(
                    logging.DEBUG if quiet else logging.WARNING,
                    "%s could not handle %s #%s of run %s; retrying in %.1fs",
                    self.name,
                    kind,
                    item.id,
                    item.event.run.id,
                    delay,
                    exc_info=True,
                )
                if self._sleep is not None:
                    self._sleep(delay)
                else:
                    self._stop.wait(delay)
                self._keep_lease()
                delay = min(delay * 2, MAX_RETRY_DELAY)


class _Stopped(Exception):
    """The feed was stopped while an event still failed: it was not handled."""


class _Lanes:
    """A feed's lanes: a thread each, taking its runs' events in order as soon as it is
    free; hotfixes have a lane of their own. `safe` says how far every event read is
    handled (or passed over)."""

    def __init__(
        self,
        count: int,
        handle: Callable[[Stored], None],
        name: str,
        wake: threading.Event,
    ) -> None:
        self.count = count
        self.handle = handle
        self.name = name
        self.wake = wake  # the feed looks again when a lane finishes
        self.read_to: int | None = None  # the last event read (and put in a lane)
        self._cond = threading.Condition()
        self._queues: list[deque[int]] = [deque() for _ in range(count)]
        self._items: dict[int, Stored] = {}
        self._order: deque[list[int]] = deque()  # [last id covered, done] in read order
        self._done_at: dict[int, list[int]] = {}
        self._busy = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"chatops-{name}-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self._threads:
            t.start()

    @property
    def in_hand(self) -> int:
        with self._cond:
            return len(self._order)

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._order) or self._busy > 0

    def put(self, items: list[tuple[Stored, int]], last_read: int) -> None:
        with self._cond:
            for item, last in items:
                mark = [last, 0]
                self._order.append(mark)
                self._items[last] = item
                self._done_at[last] = mark
                self._queues[self._lane_of(item)].append(last)
            if not items or items[-1][1] != last_read:  # passed over: done as read
                self._order.append([last_read, 1])
            self.read_to = last_read
            self._cond.notify_all()

    def _lane_of(self, item: Stored) -> int:
        """A run's lane: the first is kept for hotfixes (never behind a flood of ordinary
        runs waiting at Slack), the others share the rest by run."""
        run = item.event.run
        if self.count == 1:
            return 0
        return 0 if run.is_hotfix else 1 + run.id % (self.count - 1)

    def safe(self, position: int) -> int:
        """The last event before the oldest one still in hand (or `position`)."""
        with self._cond:
            while self._order and self._order[0][1]:
                position = max(position, self._order.popleft()[0])
            return position

    def forget(self) -> None:
        """The consumer went to another process: what is queued is its to deliver."""
        with self._cond:
            for q in self._queues:
                q.clear()
            self._order.clear()
            self._items.clear()
            self._done_at.clear()
            self.read_to = None

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(10.0)

    def _work(self, lane: int) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._queues[lane]:
                    self._cond.wait()
                if self._stopping:
                    return
                key = self._queues[lane].popleft()
                item = self._items.pop(key)
                self._busy += 1
            try:
                self.handle(item)
            except _Stopped:
                return  # not handled: the next holder starts from the position
            except Exception:  # a lane never dies: its item waits at the head of its queue
                log.exception("the %s feed's lane %d failed; retrying", self.name, lane)
                with self._cond:
                    self._items[key] = item
                    self._queues[lane].appendleft(key)
                    self._cond.wait(LANE_RETRY)
                continue
            finally:
                with self._cond:
                    self._busy -= 1
            with self._cond:
                mark = self._done_at.pop(key, None)
                if mark is not None:
                    mark[1] = 1
            self.wake.set()


def coalesce(stored: list[Stored]) -> list[tuple[Stored, int]]:
    """Join consecutive output events of the same run, step and host. Each item comes with
    the id of the last event it covers (the position to record once it is handled)."""
    out: list[tuple[Stored, int]] = []
    for item in stored:
        e = item.event
        if out and isinstance(e, StepOutput):
            prev, _ = out[-1]
            p = prev.event
            if isinstance(p, StepOutput) and (p.run.id, p.step, p.host) == (
                e.run.id,
                e.step,
                e.host,
            ):
                joined = replace(p, chunk=(p.chunk + e.chunk)[-COALESCED_CHARS:])
                out[-1] = (Stored(item.id, joined), item.id)
                continue
        out.append((item, item.id))
    return out
