"""The one place that wires adapters (SQL store, executors, HTTP) to the engine.

Changes and their events are written in one transaction (`Transactions`); consumers follow
the stored events on feeds of their own (`delivery.Feed`); listeners of this process (the
terminal, metrics, the reminder scheduler) see each event right after its commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from chatops import logs
from chatops.adapters.clock import SystemClock
from chatops.adapters.config_files import (
    load_config,
    load_config_or_empty,
    load_runbooks,
    secret_values,
)
from chatops.adapters.feeds import Feed, Published
from chatops.adapters.http_get import UrllibGetter
from chatops.adapters.liveness import OwnerLiveness, new_owner, owner_gone
from chatops.adapters.sweeper import Sweeper
from chatops.engine.agents.gate import AgentGate
from chatops.engine.agents.service import AgentService
from chatops.engine.agents.waiting import Waiters
from chatops.engine.approvals.changes import ChangeService
from chatops.engine.approvals.freezing import FreezeService
from chatops.engine.domain.roles import GroupLookup, Roles, no_groups
from chatops.engine.front.services import Services
from chatops.engine.incidents.oncall import OnCall
from chatops.engine.incidents.postmortem_service import PostMortems
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock, Consumer, EventLog, Executor, HttpGetter, Notifier
from chatops.engine.redact import Redactor
from chatops.engine.runs.operations import Operations, Start, at_once
from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.queries import Queries
from chatops.engine.runs.runner import Runner
from chatops.engine.unit_of_work import Transactions
from chatops.errors import ConfigError
from chatops.executors.local import LocalExecutor
from chatops.executors.ssh import SshExecutor
from chatops.settings import Settings
from chatops.store.audit import audit_head
from chatops.store.audit_chain import Anchor
from chatops.store.db import is_current, make_engine, upgrade
from chatops.store.outbox import SqlEventLog
from chatops.store.probe import WriteProbe
from chatops.store.transaction import sql_transactions

if TYPE_CHECKING:
    from chatops.adapters.audit_anchor import AuditAnchor
    from chatops.adapters.scheduler import ReminderScheduler

__all__ = [
    "Container",
    "Core",
    "Store",
    "Wired",
    "build",
    "chain_verdict",
    "core",
    "ensure_schema",
    "executors",
    "store",
]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Wired:
    """The engine's half of a process: its services (`Core`'s, by name) over the SQL store,
    the event log and the feeds that follow it."""

    settings: Settings
    config: Config
    runbooks: dict[str, Runbook]
    engine: Engine
    tx: Transactions
    events: SqlEventLog
    clock: Clock
    roles: Roles
    redactor: Redactor
    executors: Mapping[str, Executor]
    owner: str
    changes: ChangeService
    runner: Runner
    ops: Operations
    queries: Queries
    postmortems: PostMortems
    oncall: OnCall
    agents: AgentService
    gate: AgentGate
    freezes: FreezeService
    pages: RunPages
    feeds: list[Feed] = field(default_factory=list)
    started: bool = False

    @property
    def services(self) -> Services:
        """The engine's services, as front ends are given them."""
        return Services(
            self.config,
            self.runbooks,
            self.clock,
            self.roles,
            self.changes,
            self.ops,
            self.queries,
            self.postmortems,
            self.oncall,
            self.freezes,
            self.pages,
        )

    def listen(self, listener: Notifier) -> None:
        """Tell `listener` every event this process commits, right after the commit."""
        self.tx.listeners.append(listener)

    def follow(self, consumer: Consumer, name: str, lanes: int = 1) -> Feed:
        """A consumer that follows the stored events from its own position, on a thread of
        its own (or `lanes` threads, a run's events in one), held by one process at a time;
        it starts with the process (`start_feeds`), or at once if that has started."""

        def keep_trying(e: BaseException) -> bool:  # outages are waited out, never skipped
            return self.tx.is_transient(e) or consumer.transient(e)

        feed = Feed(self.events, consumer, name, self.owner, lanes=lanes, keep_trying=keep_trying)
        self.tx.on_commit(feed.wake)
        self.feeds.append(feed.start() if self.started else feed)
        return feed

    def start_feeds(self) -> None:
        if not self.started:
            self.started = True
            for feed in self.feeds:
                feed.start()

    @property
    def delivering(self) -> bool:
        return any(f.pending for f in self.feeds)

    def close(self, drain: float = 10.0) -> None:
        """Let the feeds handle what this process wrote (a hotfix's post-mortem, say), then
        stop them and hand their consumers to whichever process comes next."""
        for feed in self.feeds if self.started else []:
            feed.drain(drain)
            feed.stop()
        self.feeds.clear()
        self.started = False

    def audit_head(self) -> Anchor | None:
        """The audit chain's head (the last row's id and hash)."""
        with Session(self.engine) as s:
            return audit_head(s)

    def recover(self) -> list[int]:
        """Mark runs of dead processes (or dead workers of this one) interrupted."""
        stale = self.config.policies.stale_run_delta
        active = self.runner.active()  # read first: a run that ends meanwhile is not running
        check = OwnerLiveness(self.owner, self.clock.now(), stale, active)
        return [r.id for r in self.runner.recover(check)]


@dataclass(frozen=True)
class Store:
    """The SQL store one process opens: its engine, its units of work and its outbox."""

    engine: Engine
    tx: Transactions
    events: SqlEventLog


def store(url: str, clock: Clock) -> Store:
    """The store at `url` (its schema as found: `ensure_schema` creates or checks it)."""
    engine = make_engine(url)
    events = SqlEventLog(engine, make_engine(url, reads_only=True))
    return Store(engine, sql_transactions(engine, clock), events)


def chain_verdict(url: str) -> str:
    """The audit chain's verdict, as `chatops audit verify` says it (without anchors)."""
    from chatops.store.audit_chain import verify
    from chatops.store.reader import Reader

    verdict = verify(Reader(url).chain())
    if not verdict.ok:
        return f"BROKEN at row {verdict.bad_row}: {verdict.problem}"
    head = f", head #{verdict.head.id} sha256 {verdict.head.hash[:16]}" if verdict.head else ""
    return f"intact, {verdict.rows} row(s){head}"


def ensure_schema(url: str, engine: Engine) -> None:
    """SQLite databases are created and upgraded on the fly; others need `chatops db upgrade`."""
    if make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
    elif not is_current(engine):
        raise ConfigError(
            url.split("@")[-1], ["database has no chatops schema: run `chatops db upgrade`"]
        )


@dataclass(kw_only=True)
class Core:
    """The engine's services over one store: what every front end (Slack, the CLI, the
    agents, the console) and the tests' rigs are given."""

    changes: ChangeService
    runner: Runner
    ops: Operations
    queries: Queries
    postmortems: PostMortems
    oncall: OnCall
    agents: AgentService
    gate: AgentGate
    freezes: FreezeService
    pages: RunPages


def core(
    *,
    config: Config,
    runbooks: dict[str, Runbook],
    tx: Transactions,
    clock: Clock,
    roles: Roles,
    executors: Mapping[str, Executor],
    http: HttpGetter,
    owner: str,
    events: EventLog,
    start: Start = at_once,
    sleep: Callable[[float], None] = time.sleep,
    store_patience: float | None = None,
    store_waits: tuple[Callable[[float], None], Callable[[], float]] | None = None,
    link_key: bytes = b"",
    link_ttl: float = 3600.0,
    chain: Callable[[], str] | None = None,
) -> Core:
    """The services, wired to the ports they are given (the SQL store or the tests' fakes).
    `sleep`, `store_patience` (the config's `store_outage_limit` unless given) and
    `store_waits` (how an outage is waited out: sleep, monotonic) are the paces a test
    shortens or replaces with a virtual clock."""
    postmortems = PostMortems(config, tx, clock, roles)
    oncall = OnCall(config, tx, clock, roles, executors, http)
    changes = ChangeService(config, runbooks, tx, clock, roles)
    patience = store_patience
    if patience is None:
        patience = config.policies.delta("store_outage_limit").total_seconds()
    runner = Runner(
        config,
        tx,
        clock,
        executors,
        http,
        owner,
        sleep=sleep,
        store_patience=patience,
        store_waits=store_waits,
    )
    ops = Operations(changes, runner, start)
    queries = Queries(tx, config, roles, clock)
    agents = AgentService(tx, clock, config, runbooks, roles)
    waiters = Waiters()
    pages = RunPages(
        tx, queries, config, roles, clock, link_key, link_ttl, chain, held_by=agents.roles_of
    )
    gate = AgentGate(
        agents, changes, ops, queries, oncall, events, config, clock, waiters, pages=pages
    )
    tx.listeners.append(waiters)  # a waiting agent hears this process's decisions at once
    return Core(
        changes=changes,
        runner=runner,
        ops=ops,
        queries=queries,
        postmortems=postmortems,
        oncall=oncall,
        agents=agents,
        gate=gate,
        freezes=FreezeService(config, tx, clock, roles),
        pages=pages,
    )


def executors(redactor: Redactor) -> dict[str, Executor]:
    """The executors by transport: SSH (known hosts only) and this machine."""
    return {"ssh": SshExecutor(redactor), "local": LocalExecutor(redactor)}


def _wire(
    settings: Settings,
    *,
    config: Config | None = None,
    runbooks: dict[str, Runbook] | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    executors: Mapping[str, Executor] | None = None,
    http: HttpGetter | None = None,
    owner: str | None = None,
    groups_of: GroupLookup | None = None,
    follow_postmortems: bool = True,
    start: Start = at_once,
) -> Wired:
    config = config or load_config_or_empty(settings.config)
    runbooks = runbooks or load_runbooks(settings.commands)
    redactor = Redactor([*settings.secret_values(), *secret_values(config)])
    logs.configure(settings.log_format, settings.log_level, redactor)
    clock = clock or SystemClock()
    opened = store(settings.database_url, clock)
    engine, tx, events = opened.engine, opened.tx, opened.events
    ensure_schema(settings.database_url, engine)
    roles = Roles(config, groups_of or no_groups)
    executors = executors or _executors(redactor)
    owner = owner or new_owner()
    services = core(
        config=config,
        runbooks=runbooks,
        tx=tx,
        clock=clock,
        roles=roles,
        executors=executors,
        http=http or UrllibGetter(),
        owner=owner,
        events=events,
        start=start,
        link_key=settings.link_key(),
        link_ttl=settings.link_ttl,
        chain=lambda: chain_verdict(settings.database_url),
    )
    wired = Wired(
        settings=settings,
        config=config,
        runbooks=runbooks,
        engine=engine,
        tx=tx,
        events=events,
        clock=clock,
        roles=roles,
        redactor=redactor,
        executors=executors,
        owner=owner,
        **{f.name: getattr(services, f.name) for f in fields(services)},
    )
    if notifier is not None:
        wired.listen(notifier)
    if follow_postmortems:
        wired.follow(Published(wired.postmortems), "postmortems")
    return wired


_executors = executors


@dataclass(kw_only=True)
class Container:
    """Everything one process is made of, built once by `build()`: the engine's half
    (`wired`) and, in a process serving Slack (`chatops serve`, the console, the chat
    harness), the app, its services, the inbox, the sweep and the reminder scheduler.
    `start()` runs it, `stop()` ends it; every entry point and test goes through both."""

    wired: Wired
    app: Any = None  # the bolt App (Slack processes only)
    services: Any = None  # chatops.slack.services.SlackServices (bolt is heavy: lazily)
    sweeper: Sweeper | None = None
    scheduler: ReminderScheduler | None = None
    anchor: AuditAnchor | None = None
    probe: WriteProbe | None = None
    inbox: Any = None  # slack.transport.inbox.Inbox: requests acked, not yet handled
    pool: ThreadPoolExecutor | None = None  # the runs' threads, when they run in the background

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
        if db != "ok":
            state["reason"] = f"the database cannot be written ({db.removeprefix('error: ')})"
            return state
        stallable = [*self.wired.feeds, *([self.services.notifier.desk] if self.services else [])]
        stalled = {f.name: round(f.stalled_for, 1) for f in stallable if f.stalled_for}
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
        self.wired.start_feeds()
        if self.sweeper is not None:
            for run_id in self.wired.recover():
                log.warning("run %s was left running by a dead process: now interrupted", run_id)
            self.sweeper.replay_inbox()  # requests a dead process acked and never handled
            self.wired.ops.kick()
            if sweep:
                self.sweeper.start()
        if self.scheduler is not None:
            self.scheduler.start()
        return self

    def stop(self, drain: float = 10.0) -> None:
        """Stop sweeping and reminding, finish the tasks in hand, tell Slack what the runs
        said (the feeds and the desk, each for up to `drain` seconds), and hand the feeds
        to whichever process comes next."""
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.inbox is not None:
            self.inbox.close()  # what was accepted is written before the store closes
        if self.services is not None:
            self.services.workers.shutdown()
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # the runs in hand end before their feeds stop
        self.wired.close(drain)
        if self.services is not None:
            self.services.notifier.desk.stop(drain)  # the updates the feeds left, sent first


def build(
    settings: Settings,
    *,
    slack: bool = False,
    clock: Clock | None = None,
    executors: Mapping[str, Executor] | None = None,
    http: HttpGetter | None = None,
    notifier: Notifier | None = None,
    background: int = 0,
    follow_postmortems: bool = True,
    throttle_every: float = 1.0,
    scheduler: bool = True,
    scheduler_retry: float | None = None,
) -> Container:
    """The one composition root. Without `slack`, the engine over the store (a CLI command,
    `chatops mcp`): `notifier` hears each commit; a run's work runs on the caller's thread,
    or with `background` on that many threads of the container's own. With it,
    everything the Slack bot is made of. The overrides are the ports a test or the console
    replaces (the clock, executors, HTTP) and the paces it shortens."""
    if not slack:
        pool = None
        start: Start = at_once
        if background:
            pool = ThreadPoolExecutor(max_workers=background, thread_name_prefix="chatops-run")
            start = pool.submit
        wired = _wire(
            settings,
            clock=clock,
            notifier=notifier,
            executors=executors,
            http=http,
            start=start,
            follow_postmortems=follow_postmortems,
        )
        return Container(wired=wired, pool=pool)
    return _slack(
        settings,
        clock=clock,
        executors=executors,
        http=http,
        listener=notifier,
        throttle_every=throttle_every,
        scheduler=scheduler,
        scheduler_retry=scheduler_retry,
    )


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
) -> Container:
    """Everything the Slack bot is made of, wired once."""
    from chatops.adapters.audit_anchor import AuditAnchor
    from chatops.adapters.leader import leader_lock
    from chatops.adapters.metrics import DeliveryMetrics, StepMetrics, watch_runs
    from chatops.adapters.scheduler import ReminderScheduler
    from chatops.slack.app import create_app, web_client
    from chatops.slack.budget import SLACK_TIERS, SlackBudget, parse_rates
    from chatops.slack.directory import SlackDirectory
    from chatops.slack.home import HomePublisher
    from chatops.slack.services import SlackServices
    from chatops.slack.thread.notifier import SlackNotifier
    from chatops.slack.throttle import Throttle
    from chatops.slack.transport.inbox import Inbox, bolt_request
    from chatops.slack.workers import Workers
    from chatops.store.inbox import SqlInbox, inbox_engine
    from chatops.store.slack import SqlSlackRecords

    if not settings.slack_bot_token:
        raise ConfigError("environment", ["SLACK_BOT_TOKEN is not set"])
    client = web_client(
        settings, SlackBudget({**SLACK_TIERS, **parse_rates(settings.slack_limits)})
    )
    config = load_config(settings.config) if settings.config.exists() else None
    groups = sorted({g for m in (config.roles.values() if config else []) for g in m.groups})
    directory = SlackDirectory(client, groups)
    workers = Workers(tasks=3)
    wired = _wire(
        settings,
        config=config,
        clock=clock,
        notifier=listener,
        executors=executors,
        http=http,
        groups_of=directory.groups_of,
        start=workers.run,
    )
    client.redactor = wired.redactor
    records = SqlSlackRecords(wired.engine)
    throttle = Throttle(throttle_every)
    notifier = SlackNotifier(
        client, wired.queries, records, wired.clock, progress_every=throttle_every
    )
    home = HomePublisher(client, wired.queries, wired.clock, records, throttle)
    # Slack is slow at times: its consumers follow the stored events on threads of their own;
    # a lane may wait for a final state to reach Slack, so there are enough for ten live runs
    wired.follow(notifier, "slack-thread", lanes=6)
    wired.follow(Published(home), "app-home")
    wired.listen(StepMetrics())
    wired.listen(DeliveryMetrics(wired.clock))
    watch_runs(wired.queries.count_by_state, lambda: [*wired.feeds, notifier.desk])

    def delivering() -> bool:
        return wired.delivering or throttle.pending or notifier.desk.pending

    stale = wired.config.policies.stale_run_delta
    inbox = Inbox(
        SqlInbox(inbox_engine(settings.database_url, wired.engine)),
        wired.owner,
        wired.clock.now,
        settings.slack_signing_secret or "",
        lambda holder, since: owner_gone(holder, since, wired.clock.now(), stale),
    )
    workers.completion = inbox.completion
    services = SlackServices(
        wired.services,
        client,
        records,
        notifier,
        workers,
        home,
        delivering,
        public_url=settings.public_url or "http://127.0.0.1:3000",
    )
    app = create_app(services, settings.slack_signing_secret)

    def replay() -> list[int]:
        return inbox.replay(lambda body, headers: app.dispatch(bolt_request(body, headers)))

    def prune() -> int:
        keep = timedelta(days=settings.event_retention_days)
        return wired.events.prune(before=wired.clock.now() - keep)  # the clock events bear

    sweeper = Sweeper(wired.services, wired.recover, settings.sweep_every, prune, replay)

    def post_anchor(channel: str, text: str) -> None:
        client.chat_postMessage(channel=channel, text=text)

    anchor = AuditAnchor(wired.config.audit, wired.audit_head, wired.clock, post_anchor)
    reminders = None
    if scheduler:
        reminders = ReminderScheduler(
            wired.postmortems,
            wired.engine,
            wired.clock,
            leader_lock(settings.database_url, wired.engine),
            sweep_every=settings.sweep_every,
            retry=scheduler_retry if scheduler_retry is not None else settings.scheduler_retry,
            also=anchor.tick,  # the leader anchors the audit chain
        )
        wired.listen(reminders)
    return Container(
        wired=wired,
        app=app,
        services=services,
        sweeper=sweeper,
        scheduler=reminders,
        anchor=anchor,
        inbox=inbox,
    )
