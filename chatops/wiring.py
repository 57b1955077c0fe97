"""The engine's half of every process: the SQL store opened, the services built over
the ports given (`core`, which the tests' rigs call with fakes), and `Wired`, what a
process holds of them. `chatops.bootstrap.build` is the one way in; this is its engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from chatops import logs
from chatops.adapters.clock import SystemClock
from chatops.adapters.config_files import (
    load_config_or_empty,
    load_runbooks,
    secret_values,
)
from chatops.adapters.feeds import Feed, Published
from chatops.adapters.http_get import UrllibGetter
from chatops.adapters.liveness import OwnerLiveness, new_owner
from chatops.adapters.workers import Registry, WorkerLoop, me
from chatops.engine import event_codec
from chatops.engine.agents.gate import AgentGate
from chatops.engine.agents.service import AgentService
from chatops.engine.agents.waiting import Waiters
from chatops.engine.approvals.changes import ChangeService
from chatops.engine.approvals.freezing import FreezeService
from chatops.engine.domain.events import Event
from chatops.engine.domain.roles import GroupLookup, Roles, no_groups
from chatops.engine.domain.run import RunView
from chatops.engine.front.services import Services
from chatops.engine.incidents.oncall import OnCall
from chatops.engine.incidents.postmortem_service import PostMortems
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import (
    Clock,
    Consumer,
    EventLog,
    Executor,
    HttpGetter,
    Notifier,
    Workforce,
)
from chatops.engine.redact import Redactor
from chatops.engine.runs.insights import History, Insights
from chatops.engine.runs.operations import Operations, Start, at_once
from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.queries import Queries
from chatops.engine.runs.runner import Runner
from chatops.engine.unit_of_work import Transactions
from chatops.executors.local import LocalExecutor
from chatops.executors.pacing import machine_parallel
from chatops.executors.ssh import SshExecutor
from chatops.settings import Settings
from chatops.store.audit import audit_head
from chatops.store.audit_chain import Anchor
from chatops.store.opened import chain_verdict, ensure_schema, history, store
from chatops.store.outbox import SqlEventLog
from chatops.store.workers import SqlWorkers

__all__ = [
    "Core",
    "Wired",
    "core",
    "executors",
    "wire_engine",
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
    insights: Insights
    workers: SqlWorkers
    registry: Registry
    loop: WorkerLoop | None = None  # this process as a worker (serve, worker, --here)
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
            self.insights,
        )

    def listen(self, listener: Notifier) -> None:
        """Tell `listener` every event this process commits, right after the commit."""
        self.tx.listeners.append(listener)

    def follow(
        self,
        consumer: Consumer,
        name: str,
        lanes: int = 1,
        kinds: frozenset[type[Event]] | None = None,
    ) -> Feed:
        """A consumer that follows the stored events from its own position, on a thread of
        its own (or `lanes` threads, a run's events in one), held by one process at a time;
        it starts with the process (`start_feeds`), or at once if that has started. Given
        the `kinds` it handles, the others are passed over undecoded (a step on 500 hosts
        is 1,500 events that most consumers ignore)."""

        def keep_trying(e: BaseException) -> bool:  # outages are waited out, never skipped
            return self.tx.is_transient(e) or consumer.transient(e)

        names = None if kinds is None else frozenset(map(event_codec.kind_named, kinds))
        feed = Feed(
            self.events,
            consumer,
            name,
            self.owner,
            lanes=lanes,
            keep_trying=keep_trying,
            kinds=names,
        )
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
        """The runs of dead workers (or of dead threads of this one): a worker takes those of
        its site over when it safely can (`Operations.take_over`); the rest are marked
        interrupted. Their ids. A worker leaves other sites' runs to their own workers."""
        stale = self.config.policies.stale_run_delta
        active = self.runner.active()  # read first: a run that ends meanwhile is not running
        check = OwnerLiveness(self.owner, self.clock.now(), stale, self.registry.by_id(), active)
        if not self.ops.executes:
            return [r.id for r in self.runner.recover(check)]
        site = self.runner.site

        def dead_here(run: RunView) -> bool:
            return self.config.site_of(run.service, run.environment) == site and check(run)

        def adopt(run: RunView) -> bool:
            if self.ops.take_over(run):
                log.warning("run %s: its worker %s stopped; taken over", run.id, run.owner)
                return True
            return False

        return [r.id for r in self.runner.recover(dead_here, adopt)]

    def workforce_said(self) -> list[dict[str, object]]:
        """The live workers, as /healthz and `chatops check` list them."""
        now = self.clock.now()
        return [
            {
                "id": w.id,
                "kind": w.kind,
                "site": w.site,
                "beat_s_ago": round((now - w.beat_at).total_seconds(), 1),
                "config": w.config_hash[:12],
            }
            for w, alive in self.registry.listed()
            if alive
        ]

    def work(self, kind: str, *, looks: bool = True) -> WorkerLoop:
        """This process as a worker of its runner's site: registered and beating (and, with
        `looks`, finding work and taking over dead workers' runs) once started."""
        if self.loop is None:
            self.loop = WorkerLoop(
                self.workers,
                me(self.owner, kind, self.runner.site, self.clock.now()),
                self.clock,
                kick=self.ops.kick,
                recover=self.recover,
                head=self.events.head,
                looks=looks,
            )
        return self.loop


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
    insights: Insights


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
    executes: bool = True,
    workforce: Workforce | None = None,
    site: str | None = None,
    link_key: bytes = b"",
    link_ttl: float = 3600.0,
    chain: Callable[[], str] | None = None,
    history: Callable[[], History] | None = None,
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
        max_parallel=config.ssh.max_parallel or machine_parallel(),
        sleep=sleep,
        store_patience=patience,
        store_waits=store_waits,
        site=site,
    )
    ops = Operations(changes, runner, start, executes=executes, workforce=workforce)
    changes.ctx.read_facts = runner.drift.read_plan  # a plan shows its hosts as they are
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
        insights=Insights(
            history, config, roles, clock, tx, link_key, link_ttl, refusals=pages.refusals
        ),
    )


def executors(redactor: Redactor, config: Config | None = None) -> dict[str, Executor]:
    """The executors by transport: SSH (known hosts only, paced as `ssh:` says) and this
    machine."""
    policy = (config or Config()).ssh
    ssh = SshExecutor(
        redactor,
        connects_per_second=policy.connects_per_second,
        retries=policy.connect_retries,
        keep_warm=policy.warm_seconds,
    )
    return {"ssh": ssh, "local": LocalExecutor(redactor)}


def wire_engine(
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
    executes: bool = False,
    site: str | None = None,
    log_default: str = "WARNING",
) -> Wired:
    """The engine over the SQL store. `executes`: this process is a worker (it runs what it
    claims, through `start`); otherwise decisions are recorded and the workers find them."""
    config = config or load_config_or_empty(settings.config)
    runbooks = runbooks or load_runbooks(settings.commands)
    redactor = Redactor([*settings.secret_values(), *secret_values(config)])
    logs.configure(settings.log_format, settings.log_level, redactor, default=log_default)
    clock = clock or SystemClock()
    opened = store(settings.database_url, clock)
    engine, tx, events = opened.engine, opened.tx, opened.events
    ensure_schema(settings.database_url, engine)
    rows = SqlWorkers(engine, opened.reads)
    registry = Registry(rows, clock, lambda: config.policies.stale_run_delta)
    roles = Roles(config, groups_of or no_groups)
    executors = executors or _executors(redactor, config)
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
        executes=executes,
        workforce=registry,
        site=site,
        link_key=settings.link_key(),
        link_ttl=settings.link_ttl,
        chain=lambda: chain_verdict(settings.database_url),
        history=history(settings.database_url),
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
        workers=rows,
        registry=registry,
        **{f.name: getattr(services, f.name) for f in fields(services)},
    )
    if notifier is not None:
        wired.listen(notifier)
    if follow_postmortems:
        wired.follow(
            Published(wired.postmortems), "postmortems", kinds=wired.postmortems.handlers.kinds
        )
    return wired


_executors = executors
