"""What one process is made of, built once by `build()`: started, health-checked, stopped.

Changes and their events are written in one transaction (`Transactions`); consumers follow
the stored events on feeds of their own (`adapters/feeds.Feed`); listeners of this process
(the terminal, metrics, the reminder scheduler) see each event right after its commit.
"""

from __future__ import annotations

import gc
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatops.adapters.sweeper import Sweeper
from chatops.engine.domain.run import RunState
from chatops.store.probe import WriteProbe
from chatops.wiring import Wired

if TYPE_CHECKING:
    from slack_bolt import App

    from chatops.adapters.audit_anchor import AuditAnchor
    from chatops.adapters.config_reload import ConfigReload
    from chatops.adapters.scheduler import ReminderScheduler
    from chatops.slack.listeners.services import SlackServices
    from chatops.slack.transport.inbox import Inbox

__all__ = ["Container"]

log = logging.getLogger(__name__)

#: The states of a run whose status message a restart redraws, and how many at most.
_LIVE = (RunState.QUEUED, RunState.RUNNING, RunState.INTERRUPTED)
_CAUGHT_UP = 500
_CATCH_UP_AGAIN = 5.0  # seconds after start the live runs' status messages are redrawn again


def _settled() -> None:
    """What the process built to start (modules, config, runbooks: most of its objects) is
    left out of the cyclic garbage collector's full passes from now on: a step on hundreds
    of hosts no longer pays for walking it again and again (a tenth of its CPU). Once a
    process; objects freed later by their counts go as before."""
    if gc.get_freeze_count() == 0:
        gc.freeze()


@dataclass(kw_only=True)
class Container:
    """Everything one process is made of, built once by `build()`: the engine's half
    (`wired`) and, in a process serving Slack (`chatops serve`, the console, the chat
    harness), the app, its services, the inbox, the sweep and the reminder scheduler.
    `start()` runs it, `stop()` ends it; every entry point and test goes through both."""

    wired: Wired
    app: App | None = None  # the bolt App (Slack processes only; bolt is imported lazily)
    services: SlackServices | None = None  # what the Slack listeners are given
    sweeper: Sweeper | None = None
    scheduler: ReminderScheduler | None = None
    anchor: AuditAnchor | None = None
    probe: WriteProbe | None = None
    inbox: Inbox | None = None  # requests acked, not yet handled
    pool: ThreadPoolExecutor | None = None  # the runs' threads, when they run in the background
    reload: ConfigReload | None = None  # the config in force, re-read when its files change
    _again: threading.Timer | None = None  # the second redraw of the live runs' messages

    def health(self) -> dict[str, object]:
        """Ready when the database takes a write (a full disk answers SELECT 1 and refuses
        every record a run must write); says whether this replica leads the scheduler."""
        if self.probe is None:
            self.probe = WriteProbe(self.wired.engine, self.wired.owner)
        db = self.probe(self.wired.clock.now())
        s = self.scheduler
        role = "off" if s is None else ("leader" if s.is_leader else "follower")
        state: dict[str, object] = {
            "status": "ok" if db == "ok" else "degraded",
            "database": db,
            "scheduler": role,
        }
        if self.reload is not None:  # replicas show which config each serves
            kept = self.reload.state
            state["config"] = {"sha256": kept.sha256[:12], "refused": kept.error}
        if db != "ok":
            state["reason"] = f"the database cannot be written ({db.removeprefix('error: ')})"
            return state
        try:  # who executes runs: a run never silently waits for nobody
            state["workers"] = self.wired.workforce_said()
        except Exception as e:  # the database went away since the probe
            state["workers"] = f"unknown: {type(e).__name__}"
        stalled = {f.name: round(f.stalled_for, 1) for f in self.wired.feeds if f.stalled_for}
        desk = self.services.notifier.desk if self.services is not None else None
        if desk is not None and desk.stalled_for:
            stalled[desk.name] = round(desk.stalled_for, 1)
        if stalled:  # a feed retrying an event (Slack down, the store away): for how long
            state["stalled"] = stalled
        try:  # events each consumer has yet to handle (Slack down shows here)
            head = self.wired.events.head()
            state["behind"] = {n: head - p for n, p in self.wired.events.positions().items()}
        except Exception as e:  # the database went away since the probe
            state["behind"] = f"unknown: {type(e).__name__}"
        return state

    def start(self, *, sweep: bool = True) -> Container:
        """Start the feeds. A process serving Slack also takes over what dead processes
        left (their runs marked interrupted, the requests they acked replayed), starts what
        is queued and then sweeps periodically (unless `sweep` is false: a test sweeps by
        hand), and reminds of post-mortems. A CLI command does only its own work."""
        if self.wired.loop is not None:  # on the list before it claims or recovers anything
            self.wired.loop.register()
        self.wired.start_feeds()
        if self.sweeper is not None:
            for run_id in self.wired.recover():
                log.warning("run %s was left running by a dead process: now interrupted", run_id)
            self.sweeper.replay_inbox()  # requests a dead process acked and never handled
            self._catch_up()
            # and once more a moment later: a store or Slack hiccup at start (a loaded
            # machine, a database still recovering) leaves no status message behind
            self._again = threading.Timer(_CATCH_UP_AGAIN, self._catch_up, kwargs={"again": True})
            self._again.daemon = True
            self._again.start()
            self.wired.ops.kick()
            if sweep:
                self.sweeper.start()
        if self.scheduler is not None:
            self.scheduler.start()
        if self.wired.loop is not None:
            self.wired.loop.start()
        if self.reload is not None:
            self.reload.start()
        _settled()
        return self

    def _catch_up(self, again: bool = False) -> None:
        """The status messages of the runs not yet ended, redrawn once at start: what a
        killed process had handled but not yet shown reaches Slack."""
        if self.services is None:
            return
        try:
            live = self.wired.queries.list_runs(_CAUGHT_UP, _LIVE)
        except Exception:  # the store away at start: the next event redraws them
            log.warning("the live runs' status messages could not be read", exc_info=True)
            return
        try:
            from chatops.slack.budget import Priority

            # again: as progress (at most once a second a message, never ahead of a run's news)
            rank = Priority.PROGRESS if again else Priority.ACT
            shown = self.services.notifier.catch_up(live, rank)
        except Exception:  # its records unread: the second pass (or the next event) does it
            log.warning("the live runs' status messages could not be redrawn", exc_info=True)
            return
        if shown:
            log.info("%d live runs' status messages redrawn", shown)

    def stop(self, drain: float = 10.0) -> None:
        """Stop sweeping and reminding, finish the tasks in hand, tell Slack what the runs
        said (the feeds and the desk, each for up to `drain` seconds), and hand the feeds
        to whichever process comes next."""
        if self._again is not None:
            self._again.cancel()
        if self.reload is not None:
            self.reload.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.wired.loop is not None:
            self.wired.loop.quiet()  # beats on while the runs in hand end; claims nothing new
        if self.inbox is not None:
            self.inbox.close()  # what was accepted is written before the store closes
        if self.services is not None:
            self.services.workers.shutdown()
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # the runs in hand end before their feeds stop
        if self.wired.loop is not None:
            self.wired.loop.stop()  # off the workers' list: it holds no run any more
        self.wired.close(drain)
        if self.services is not None:
            self.services.notifier.desk.stop(drain)  # the updates the feeds left, sent first
