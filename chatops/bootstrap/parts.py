"""What several kinds of process are made with: the sweep's forgetting of old events, the
post-mortem reminders (one leader at a time), the config in force re-read when it changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from chatops.engine.domain.run import AuditEvent
from chatops.engine.planning.config import Config
from chatops.settings import Settings
from chatops.wiring import Wired

if TYPE_CHECKING:
    from chatops.adapters.config_reload import ConfigReload
    from chatops.adapters.scheduler import ReminderScheduler

__all__ = ["config_reload", "pruner", "reminder_scheduler"]


def pruner(settings: Settings, wired: Wired) -> Callable[[], int]:
    """The sweep's forgetting of delivered events older than the retention."""

    def prune() -> int:
        keep = timedelta(days=settings.event_retention_days)
        return wired.events.prune(before=wired.clock.now() - keep)  # the clock events bear

    return prune


def reminder_scheduler(
    settings: Settings,
    wired: Wired,
    retry: float | None,
    also: Callable[[], object] | None = None,
) -> ReminderScheduler:
    """The post-mortem reminders, run by one process at a time (the scheduler's leader)."""
    from chatops.adapters.leader import leader_lock
    from chatops.adapters.scheduler import ReminderScheduler

    reminders = ReminderScheduler(
        wired.postmortems,
        wired.engine,
        wired.clock,
        leader_lock(settings.database_url, wired.engine),
        sweep_every=settings.sweep_every,
        retry=retry if retry is not None else settings.scheduler_retry,
        also=also,
    )
    wired.listen(reminders)
    return reminders


def config_reload(
    settings: Settings, wired: Wired, after: Callable[[Config], None] = lambda _c: None
) -> ConfigReload:
    """The config in force of a serve or worker, re-read when its files change (or SIGHUP);
    the worker's beat carries its hash."""
    from chatops.adapters.config_reload import ConfigReload

    def record(action: str, detail: str) -> None:
        with wired.tx() as t:
            t.audit.append(AuditEvent(wired.clock.now(), "chatops", action, detail=detail))
            t.commit()

    reload = ConfigReload(
        settings.config,
        settings.commands,
        wired.config,
        wired.runbooks,
        wired.redactor,
        record,
        every=settings.reload_every,
        after=after,
    )
    if wired.loop is not None:
        wired.loop.config_hash = lambda: reload.sha256
    return reload
