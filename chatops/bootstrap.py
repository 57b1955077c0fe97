"""The one place that wires adapters (SQL store, executors, HTTP) to the engine.

Changes and their events are written in one transaction (`Transactions`); consumers follow
the stored events on feeds of their own (`delivery.Feed`); listeners of this process (the
terminal, metrics, the reminder scheduler) see each event right after its commit.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chatops.adapters.config_files import (
    load_config,
)
from chatops.adapters.feeds import Published
from chatops.adapters.sweeper import Sweeper
from chatops.engine.domain.run import AuditEvent, RunState
from chatops.engine.planning.config import Config
from chatops.engine.ports import Clock, Executor, HttpGetter, Notifier
from chatops.engine.runs.operations import Start, at_once
from chatops.errors import ConfigError
from chatops.settings import Settings
from chatops.store.probe import WriteProbe
from chatops.wiring import Wired, wire_engine

if TYPE_CHECKING:
    from slack_bolt import App
    from starlette.applications import Starlette

    from chatops.adapters.audit_anchor import AuditAnchor
    from chatops.adapters.config_reload import ConfigReload
    from chatops.adapters.scheduler import ReminderScheduler
    from chatops.slack.client import SafeWebClient
    from chatops.slack.listeners.services import SlackServices
    from chatops.slack.transport.inbox import Inbox
    from chatops.slack.workers import Workers


__all__ = ["Container", "build", "http_app"]

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
    return _slack(
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

    sweeper = Sweeper(wired.services, wired.recover, settings.sweep_every, _pruner(settings, wired))
    wired.listen(sweeper)
    reminders = _reminders(settings, wired, scheduler_retry) if scheduler else None
    return Container(
        wired=wired,
        sweeper=sweeper,
        scheduler=reminders,
        pool=pool,
        reload=_reload(settings, wired),
    )


def _pruner(settings: Settings, wired: Wired) -> Callable[[], int]:
    """The sweep's forgetting of delivered events older than the retention."""

    def prune() -> int:
        keep = timedelta(days=settings.event_retention_days)
        return wired.events.prune(before=wired.clock.now() - keep)  # the clock events bear

    return prune


def _reminders(
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


def _reload(
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


def _slack(
    settings: Settings,
    *,
    clock: Clock | None = None,
    executors: Mapping[str, Executor] | None = None,
    http: HttpGetter | None = None,
    listener: Notifier | None = None,
    throttle_every: float = 1.0,
    scheduler: bool = True,
    scheduler_retry: float | None = None,
    log_default: str = "WARNING",
) -> Container:
    """Everything the Slack bot is made of, wired once: the engine (a worker on the Slack
    app's pools), what tells Slack (`_tellers`), what hears it (`_hearing`), the sweep,
    the audit anchor and the reminders."""
    from chatops.adapters.audit_anchor import AuditAnchor
    from chatops.slack.budget import SLACK_TIERS, SlackBudget, parse_rates
    from chatops.slack.directory import SlackDirectory
    from chatops.slack.listeners.app import web_client
    from chatops.slack.workers import Workers

    if not settings.slack_bot_token:
        raise ConfigError("environment", ["SLACK_BOT_TOKEN is not set"])
    client = web_client(
        settings, SlackBudget({**SLACK_TIERS, **parse_rates(settings.slack_limits)})
    )
    config = load_config(settings.config) if settings.config.exists() else None
    groups = sorted({g for m in (config.roles.values() if config else []) for g in m.groups})
    directory = SlackDirectory(client, groups)
    workers = Workers(tasks=3)
    wired = wire_engine(
        settings,
        config=config,
        clock=clock,
        notifier=listener,
        executors=executors,
        http=http,
        groups_of=directory.groups_of,
        start=workers.run,
        executes=True,
        site=settings.site,
        log_default=log_default,
    )
    wired.work("serve")
    client.redactor = wired.redactor

    def groups_follow(c: Config) -> None:  # user groups named by the roles in force
        directory.groups = sorted({g for m in c.roles.values() for g in m.groups})

    reload = _reload(settings, wired, groups_follow)
    services = _tellers(settings, wired, client, workers, reload, throttle_every)
    app, inbox, replay = _hearing(settings, wired, services)
    prune = _pruner(settings, wired)
    sweeper = Sweeper(wired.services, wired.recover, settings.sweep_every, prune, replay)
    wired.listen(sweeper)  # a run approved to start later wakes it

    def post_anchor(channel: str, text: str) -> None:
        client.chat_postMessage(channel=channel, text=text)

    anchor = AuditAnchor(wired.config.audit, wired.audit_head, wired.clock, post_anchor)
    # the leader of the reminders anchors the audit chain too
    reminders = _reminders(settings, wired, scheduler_retry, anchor.tick) if scheduler else None
    return Container(
        wired=wired,
        app=app,
        services=services,
        sweeper=sweeper,
        scheduler=reminders,
        anchor=anchor,
        inbox=inbox,
        reload=reload,
    )


def _tellers(
    settings: Settings,
    wired: Wired,
    client: SafeWebClient,
    workers: Workers,
    reload: ConfigReload,
    throttle_every: float,
) -> SlackServices:
    """What tells Slack: the thread's notifier and the App Home, each following the stored
    events on a feed of its own, and the services the listeners are given."""
    from chatops.metrics import DeliveryMetrics, StepMetrics, watch_runs
    from chatops.slack.home import HomePublisher
    from chatops.slack.listeners.services import SlackServices
    from chatops.slack.thread.notifier import SlackNotifier
    from chatops.slack.throttle import Throttle
    from chatops.store.slack import SqlSlackRecords

    records = SqlSlackRecords(wired.engine)
    throttle = Throttle(throttle_every)
    notifier = SlackNotifier(
        client, wired.queries, records, wired.clock, progress_every=throttle_every
    )

    def config_notice(user: str) -> str | None:  # a refused config, to the leads
        return reload.refused_notice() if "lead" in wired.roles.of(user) else None

    home = HomePublisher(
        client,
        wired.queries,
        wired.clock,
        records,
        throttle,
        team=wired.insights.team,
        notice=config_notice,
    )
    # Slack is slow at times: its consumers follow the stored events on threads of their own;
    # a lane may wait for a final state to reach Slack: six for ordinary runs, one for hotfixes
    wired.follow(notifier, "slack-thread", lanes=7, kinds=notifier.kinds)
    wired.follow(Published(home), "app-home", kinds=home.handlers.kinds)
    wired.listen(StepMetrics())
    wired.listen(DeliveryMetrics(wired.clock))
    watch_runs(wired.queries.count_by_state, lambda: [*wired.feeds, notifier.desk])

    def delivering() -> bool:
        return wired.delivering or throttle.pending or notifier.desk.pending

    return SlackServices(
        wired.services,
        client,
        records,
        notifier,
        workers,
        home,
        delivering,
        public_url=settings.public_url or "http://127.0.0.1:3000",
    )


def _hearing(
    settings: Settings, wired: Wired, services: SlackServices
) -> tuple[App, Inbox, Callable[[], list[int]]]:
    """What hears Slack: the bolt app, and the inbox of requests acked and not yet handled
    (a dead process's are replayed by the sweep: the third of what is returned)."""
    from chatops.slack.listeners.app import create_app
    from chatops.slack.transport.inbox import Inbox, bolt_request
    from chatops.store.inbox import SqlInbox, inbox_engine

    inbox = Inbox(
        SqlInbox(inbox_engine(settings.database_url, wired.engine)),
        wired.owner,
        wired.clock.now,
        settings.slack_signing_secret or "",
        lambda holder, _since: holder is None or not wired.registry.is_alive(holder),
    )
    services.workers.completion = inbox.completion
    app = create_app(services, settings.slack_signing_secret)

    def replay() -> list[int]:
        return inbox.replay(lambda body, headers: app.dispatch(bolt_request(body, headers)))

    return app, inbox, replay


def http_app(c: Container, *, agents: bool = True) -> Starlette:
    """The HTTP surface of a process serving Slack, as `chatops serve --http` and the chat
    harness serve it: Slack's endpoint (signature-checked, acked at once, stored first),
    /healthz, /metrics, the run pages and /insights, and with `agents` the agents' /api/v1
    and /mcp (the MCP SDK takes a second to import: the console goes without)."""
    from chatops.slack.transport.http import asgi
    from chatops.web.routes import web_routes

    settings = c.wired.settings
    assert c.app is not None, "http_app serves a Slack process (build(..., slack=True))"
    if not settings.slack_signing_secret:
        raise ConfigError("environment", ["SLACK_SIGNING_SECRET is required in HTTP mode"])
    routes: list[Any] = []
    lifespan = None
    if agents:
        from chatops.api.web import agent_endpoints

        routes, lifespan = agent_endpoints(
            c.wired.gate, c.wired.redactor, settings.public_url or ""
        )
    routes = [*routes, *web_routes(c.wired.pages, c.wired.insights)]
    return asgi(c.app, c.health, settings.slack_signing_secret, routes, lifespan, inbox=c.inbox)
