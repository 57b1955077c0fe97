"""`build()`: the one composition root, for every kind of process: a command, `chatops
mcp`, a worker, a Slack process (serve, the console, the chat harness)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from chatops.adapters.sweeper import Sweeper
from chatops.bootstrap.container import Container
from chatops.bootstrap.parts import config_reload, pruner, reminder_scheduler
from chatops.bootstrap.slack import slack_process
from chatops.engine.ports import Clock, Executor, HttpGetter, Notifier
from chatops.engine.runs.operations import Start, at_once
from chatops.settings import Settings
from chatops.wiring import wire_engine

__all__ = ["build"]


def build(
    settings: Settings,
    *,
    slack: bool = False,
    worker: bool = False,
    here: bool = False,
    clock: Clock | None = None,
    executors: Mapping[str, Executor] | None = None,
    http: HttpGetter | None = None,
    notifier: Notifier | None = None,
    runs: int = 8,
    follow_postmortems: bool = True,
    throttle_every: float = 1.0,
    scheduler: bool = True,
    scheduler_retry: float | None = None,
    start: Start = at_once,
    log_default: str = "WARNING",
) -> Container:
    """The one composition root. Without `slack`, the engine over the store (a CLI command,
    `chatops mcp`): `notifier` hears each commit; decisions are recorded and the workers
    find them, nothing is executed here, unless `here` (a terminal that is the worker of the
    run it starts, on the caller's thread). With `worker`, a worker: runs on `runs` threads
    of its own, the sweep, the reminders; no Slack (`chatops worker`). With `slack`,
    everything the Slack bot is made of, itself a worker. The overrides are the ports a
    test or the console replaces (the clock, executors, HTTP) and the paces it shortens.
    `start`: how a `here` terminal runs what a decision starts (the CLI holds it, and runs it
    where Ctrl-C is handled). `log_default`: the log level unless CHATOPS_LOG_LEVEL says
    (a long-running serve or worker says INFO; a command keeps quiet)."""
    if worker:
        return _worker(
            settings,
            clock=clock,
            executors=executors,
            http=http,
            notifier=notifier,
            runs=runs,
            scheduler=scheduler,
            scheduler_retry=scheduler_retry,
            log_default=log_default,
        )
    if not slack:
        wired = wire_engine(
            settings,
            clock=clock,
            notifier=notifier,
            executors=executors,
            http=http,
            start=start,
            executes=here,
            site=settings.site,
            follow_postmortems=follow_postmortems,
            log_default=log_default,
        )
        if here:  # on the workers' list while it runs (its runs are never thought dead)
            wired.work("here", looks=False)
        return Container(wired=wired)
    return slack_process(
        settings,
        clock=clock,
        executors=executors,
        http=http,
        listener=notifier,
        throttle_every=throttle_every,
        scheduler=scheduler,
        scheduler_retry=scheduler_retry,
        log_default=log_default,
    )


def _worker(
    settings: Settings,
    *,
    clock: Clock | None,
    executors: Mapping[str, Executor] | None,
    http: HttpGetter | None,
    notifier: Notifier | None,
    runs: int,
    scheduler: bool,
    scheduler_retry: float | None,
    log_default: str,
) -> Container:
    """`chatops worker`: executes runs (of its site) and the scheduler's work; no Slack. The
    thread's messages come from a serve, which follows the same events."""

    pool = ThreadPoolExecutor(max_workers=runs, thread_name_prefix="chatops-run")
    wired = wire_engine(
        settings,
        clock=clock,
        notifier=notifier,
        executors=executors,
        http=http,
        start=pool.submit,
        executes=True,
        site=settings.site,
        log_default=log_default,
    )
    wired.work("worker")

    sweeper = Sweeper(wired.services, wired.recover, settings.sweep_every, pruner(settings, wired))
    wired.listen(sweeper)
    reminders = reminder_scheduler(settings, wired, scheduler_retry) if scheduler else None
    return Container(
        wired=wired,
        sweeper=sweeper,
        scheduler=reminders,
        pool=pool,
        reload=config_reload(settings, wired),
    )
