"""Reminders with APScheduler 3: one job per open post-mortem, in its SQLAlchemy job store.

The truth is in the post-mortems' own rows; at start (and every sweep) the jobs are
rebuilt from them. Only the leader runs the scheduler; followers try to become leader every
`retry` seconds. A reminder is claimed in the database before it is sent, so a job firing
twice, a sweep and a job racing, or a restart never send one twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from chatops.adapters.leader import LeaderLock
from chatops.engine.bus import Handlers
from chatops.engine.domain.events import POSTMORTEM_EVENTS, Event
from chatops.engine.incidents.postmortem_service import PostMortems
from chatops.engine.ports import Clock

log = logging.getLogger(__name__)
JOB_TABLE = "chatops_scheduler_jobs"
_active: ReminderScheduler | None = None


def fire(run_id: int) -> None:
    """The job APScheduler runs (referenced by name, so the job store can keep it)."""
    if _active is not None:
        _active.fire(run_id)


class ReminderScheduler:
    def __init__(
        self,
        postmortems: PostMortems,
        engine: Engine,
        clock: Clock,
        lock: LeaderLock,
        *,
        sweep_every: float = 60.0,
        retry: float = 15.0,
        also: Callable[[], object] | None = None,
    ) -> None:
        self.postmortems = postmortems
        self.engine = engine
        self.clock = clock
        self.lock = lock
        self.sweep_every = sweep_every
        self.retry = retry
        self.handlers = Handlers[None]()
        for kind in POSTMORTEM_EVENTS:
            self.handlers.on(kind, lambda _e, _c: self.rebuild())
        self.also = also
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatops-leader", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> None:
        global _active
        _active = self
        self._try_lead()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._step_down()

    def _loop(self) -> None:
        while not self._stop.wait(self.retry):
            try:
                if self.is_leader and not self.lock.still_held():
                    log.warning("lost the scheduler lock: stepping down")
                    self._step_down()
                if not self.is_leader:
                    self._try_lead()
            except Exception:
                log.exception("leader check failed")

    def _try_lead(self) -> None:
        if not self.lock.acquire():
            return
        store = SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)
        sched = BackgroundScheduler(
            jobstores={"default": store, "memory": MemoryJobStore()},
            timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        sched.start()
        self.scheduler = sched
        log.info("this process leads the scheduler")
        sched.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_every,
            id="sweep",
            replace_existing=True,
            jobstore="memory",
        )
        self.sweep()

    def _step_down(self) -> None:
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:
                log.exception("scheduler shutdown")
            self.scheduler = None
        self.lock.release()

    def rebuild(self) -> None:
        """Make the job store hold exactly one job per open post-mortem, at its next time."""
        sched = self.scheduler
        if sched is None:
            return
        wanted = self.postmortems.next_times()
        for job in sched.get_jobs():
            if job.id.startswith("pm-") and int(job.id[3:]) not in wanted:
                job.remove()
        now_real = datetime.now(UTC)
        now = self.clock.now()
        for run_id, at in wanted.items():
            assert isinstance(at, datetime)
            delay = max(at - now, timedelta(0))
            sched.add_job(
                "chatops.adapters.scheduler:fire",
                "date",
                run_date=now_real + delay,
                args=[run_id],
                id=f"pm-{run_id}",
                replace_existing=True,
            )

    def publish(self, event: Event) -> None:
        """A consumer too: a post-mortem opened, reminded, snoozed or done moves its job."""
        self.handlers.handle(event, None)

    def fire(self, run_id: int) -> None:
        self.postmortems.remind(run_id)
        self.rebuild()

    def sweep(self) -> None:
        self.postmortems.tick()
        self.rebuild()
        if self.also is not None:
            self.also()

    def jobs(self) -> dict[str, datetime]:
        if self.scheduler is None:
            return {}
        return {j.id: j.next_run_time for j in self.scheduler.get_jobs()}
