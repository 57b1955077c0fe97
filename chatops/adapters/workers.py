"""This process as a worker: registered, beating, looking for work, taking over the runs of
workers that died.

A process that executes runs (`chatops serve`, `chatops worker`, a terminal with `--here`)
registers in the workers table and beats every few seconds; a run's owner is alive while its
worker beats (`liveness.worker_alive`). The loop looks for work it could claim when the
event stream moves (any process's decision is an event) or when woken, and at every beat
takes over (or, when that is unsafe, ends) the runs of workers that stopped beating.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from chatops.adapters.liveness import process_key, worker_alive
from chatops.engine.ports import Clock, WorkerInfo

__all__ = ["BEAT_EVERY", "Registry", "WorkerLoop", "WorkerRows", "me"]

log = logging.getLogger(__name__)

BEAT_EVERY = 5.0  # seconds between a worker's beats (it is dead after `stale_run_after`)
LOOK_EVERY = 0.5  # seconds between looks at the event stream for work


class WorkerRows(Protocol):
    """The registry's table (`store/workers.SqlWorkers`)."""

    def register(self, w: WorkerInfo) -> None: ...

    def beat(self, worker_id: str, now: datetime, config_hash: str | None = None) -> bool: ...

    def remove(self, worker_id: str) -> None: ...

    def all(self) -> list[WorkerInfo]: ...

    def claimable(self, site: str | None, now: datetime) -> bool: ...


def me(owner: str, kind: str, site: str | None, now: datetime) -> WorkerInfo:
    """This process, as the registry lists it."""
    return WorkerInfo(
        id=owner,
        kind=kind,
        host=socket.gethostname(),
        pid=os.getpid(),
        site=site,
        started_at=now,
        beat_at=now,
        process_key=process_key(),
    )


class Registry:
    """The workforce as the registry says: who is alive now (the engine's `Workforce`)."""

    def __init__(self, rows: WorkerRows, clock: Clock, dead_after: Callable[[], timedelta]) -> None:
        self.rows = rows
        self.clock = clock
        self.dead_after = dead_after  # read at each look: the config in force says it

    def by_id(self) -> dict[str, WorkerInfo]:
        return {w.id: w for w in self.rows.all()}

    def is_alive(self, worker_id: str) -> bool:
        found = self.by_id().get(worker_id)
        return worker_alive(found, self.clock.now(), self.dead_after())

    def alive(self, site: str | None = None) -> list[WorkerInfo]:
        return [w for w, alive in self.listed() if alive and w.site == site]

    def listed(self) -> list[tuple[WorkerInfo, bool]]:
        """Every registered worker and whether it is alive (for `chatops check`, /healthz)."""
        now, dead_after = self.clock.now(), self.dead_after()
        return [(w, worker_alive(w, now, dead_after)) for w in self.rows.all()]


class WorkerLoop:
    """Registers `info`, beats, and finds work: `kick` when there may be some (the event
    stream moved, or `wake`), `recover` at every beat (the runs of dead workers)."""

    def __init__(
        self,
        rows: WorkerRows,
        info: WorkerInfo,
        clock: Clock,
        *,
        kick: Callable[[], None],
        recover: Callable[[], object],
        head: Callable[[], int],
        config_hash: Callable[[], str] = lambda: "",
        beat_every: float = BEAT_EVERY,
        look_every: float = LOOK_EVERY,
        looks: bool = True,
    ) -> None:
        self.rows = rows
        self.info = info
        self.clock = clock
        self.kick = kick
        self.recover = recover
        self.head = head
        self.config_hash = config_hash
        self.beat_every = beat_every
        self.look_every = look_every
        self.looks = looks  # False: it only beats (a terminal running one run, `--here`)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatops-worker", daemon=True)
        self.beats = 0

    def register(self) -> WorkerLoop:
        """On the list, before this process claims anything: its runs are never thought dead."""
        now = self.clock.now()
        self.info = replace(self.info, beat_at=now, config_hash=self.config_hash())
        self.rows.register(self.info)
        return self

    def start(self) -> WorkerLoop:
        self.register()
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def quiet(self) -> None:
        """Claim nothing more (the process is stopping); beat on until `stop`."""
        self.kick = lambda: None
        self.recover = lambda: None

    def stop(self) -> None:
        """Off the list: its runs ended or were handed back before (`Container.stop`)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        try:
            self.rows.remove(self.info.id)
        except Exception:  # the store away: the row ages out, and the runs' owner with it
            log.warning("could not take worker %s off the list", self.info.id, exc_info=True)

    def beat(self) -> None:
        now = self.clock.now()
        if not self.rows.beat(self.info.id, now, self.config_hash()):
            log.warning("worker %s was off the list: registered again", self.info.id)
            self.register()
        self.beats += 1

    def _loop(self) -> None:
        last_beat = time.monotonic()
        seen = -1
        while not self._stop.is_set():
            woken = self._wake.wait(self.look_every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if time.monotonic() - last_beat >= self.beat_every:
                    last_beat = time.monotonic()
                    self.beat()
                    if not self.looks:
                        continue
                    self.recover()
                    woken = True
                if not self.looks:
                    continue
                head = self.head()
                moved, seen = head != seen, head
                if (woken or moved) and self.rows.claimable(self.info.site, self.clock.now()):
                    self.kick()
            except Exception:  # the store away: the next look tries again
                log.warning("worker %s: could not look for work", self.info.id, exc_info=True)
