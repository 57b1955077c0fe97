"""`chatops serve`: the bot, in Socket Mode or behind HTTP, with its periodic sweeps."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text

from chatops.errors import ConfigError
from chatops.leader import leader_lock
from chatops.scheduler import ReminderScheduler
from chatops.settings import Settings
from chatops.slack.services import SlackServices

log = logging.getLogger(__name__)


class Sweeper:
    """Every `interval` seconds: mark runs of dead replicas interrupted, expire stale
    requests, start queued runs nobody started."""

    def __init__(self, services: SlackServices, interval: float = 30.0) -> None:
        self.services = services
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatops-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sweep(self) -> None:
        for run_id in self.services.wired.recover():
            log.warning("run %s was left running by a dead process: now interrupted", run_id)
        self.services.changes.expire_due()
        self.services.kick()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")


def health(
    services: SlackServices, scheduler: ReminderScheduler | None = None
) -> dict[str, object]:
    """Ready when the database answers; says whether this replica leads the scheduler."""
    try:
        with services.wired.engine.connect() as c:
            c.execute(text("SELECT 1"))
        db = "ok"
    except Exception as e:
        db = f"error: {type(e).__name__}"
    role = "off" if scheduler is None else ("leader" if scheduler.is_leader else "follower")
    return {"status": "ok" if db == "ok" else "degraded", "database": db, "scheduler": role}


def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    from chatops import logs
    from chatops.slack.app import build

    app, services = build(settings)
    logs.configure(settings.log_format, settings.log_level, services.wired.redactor, default="INFO")
    for run_id in services.wired.recover():
        log.warning("run %s was left running by a dead process: now interrupted", run_id)
    services.kick()
    sweeper = Sweeper(services, interval=settings.sweep_every)
    sweeper.start()
    w = services.wired
    reminders = ReminderScheduler(
        w.postmortems,
        w.engine,
        w.clock,
        leader_lock(settings.database_url, w.engine),
        sweep_every=settings.sweep_every,
        retry=settings.scheduler_retry,
    )
    w.listen(reminders)
    reminders.start()
    try:
        if http:
            if not settings.slack_signing_secret:
                raise ConfigError("environment", ["SLACK_SIGNING_SECRET is required in HTTP mode"])
            import uvicorn

            from chatops.slack.http import asgi

            log.info("serving Slack over HTTP on %s:%s", host, port)
            uvicorn.run(
                asgi(app, lambda: health(services, reminders), settings.slack_signing_secret),
                host=host,
                port=port,
                log_level="warning",
                proxy_headers=True,
            )
        elif settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("connecting to Slack in Socket Mode")
            SocketModeHandler(app, settings.slack_app_token).start()  # type: ignore[no-untyped-call]
        else:
            raise ConfigError("environment", ["set SLACK_APP_TOKEN (Socket Mode) or use --http"])
    finally:
        reminders.stop()
        sweeper.stop()
        services.workers.shutdown()
        w.close()  # what the runs said reaches Slack before the process ends
    return 0
