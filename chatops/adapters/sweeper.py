"""The periodic sweep: runs of dead processes marked interrupted, stale requests expired,
queued runs nobody started started, old events every consumer has handled forgotten.

It also keeps the scheduled starts: it sleeps no longer than until the next one (read from
the store, so a restart knows them), and wakes at once when a run is approved to start
later. Starting is claiming: a run due while two processes sweep starts once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from chatops.engine.bus import Handlers
from chatops.engine.domain.events import Event, RunApproved
from chatops.engine.front.services import Services

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        engine: Services,
        recover: Callable[[], list[int]],
        interval: float = 30.0,
        prune: Callable[[], int] | None = None,
        replay: Callable[[], list[int]] | None = None,
    ) -> None:
        self.engine = engine
        self.recover = recover
        self.interval = interval
        self.prune = prune
        self.replay = replay
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.handlers = Handlers[None]()
        self.handlers.on(RunApproved, self._on_approved)
        self._thread = threading.Thread(target=self._loop, name="chatops-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def replay_inbox(self) -> None:
        """Handle the Slack requests a dead process acknowledged and never handled."""
        if self.replay is None:
            return
        try:
            for inbox_id in self.replay():
                log.warning("request %s, acked by a process that died, handled again", inbox_id)
        except Exception:
            log.exception("could not read the inbox")

    def sweep(self) -> None:
        for run_id in self.recover():
            log.warning("run %s was left running by a dead process: now interrupted", run_id)
        self.replay_inbox()
        self.engine.changes.expiry.expire_due()
        self.engine.pages.flush_refusals()  # a flood of bad links that stopped: its count
        self.engine.ops.kick()
        if self.prune is not None:
            gone = self.prune()
            if gone:
                log.info("forgot %d delivered events older than the retention", gone)

    def publish(self, event: Event) -> None:
        """A consumer of the bus: a run approved to start later may start before the next
        sweep: sleep until then instead."""
        self.handlers.handle(event, None)

    def _on_approved(self, event: RunApproved, _: None) -> None:
        if event.run.not_before is not None:
            self._wake.set()

    def pause(self) -> float:
        """Seconds until the next sweep: the interval, or less if a scheduled start is due
        before it."""
        try:
            at = self.engine.ops.next_start()
        except Exception:  # the store is away: the interval, and the sweep says so
            return self.interval
        if at is None:
            return self.interval
        left = (at - self.engine.clock.now()).total_seconds()
        return self.interval if left <= 0 else min(self.interval, left + 0.05)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.pause())
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")
