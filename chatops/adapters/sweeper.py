"""The periodic sweep: runs of dead processes marked interrupted, stale requests expired,
queued runs nobody started started, old events every consumer has handled forgotten."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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
        self._thread = threading.Thread(target=self._loop, name="chatops-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
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
        self.engine.ops.kick()
        if self.prune is not None:
            gone = self.prune()
            if gone:
                log.info("forgot %d delivered events older than the retention", gone)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")
