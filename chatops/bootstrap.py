"""The one place that wires adapters (SQL store, executors, HTTP) to the engine.

Changes and their events are written in one transaction (`Transactions`); consumers follow
the stored events on feeds of their own (`delivery.Feed`); listeners of this process (the
terminal, metrics, the reminder scheduler) see each event right after its commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from chatops import logs
from chatops.clock import SystemClock
from chatops.config_files import load_config_or_empty, load_runbooks, secret_values
from chatops.delivery import Feed
from chatops.engine.changes import ChangeService
from chatops.engine.config import Config
from chatops.engine.oncall import OnCall
from chatops.engine.ports import Clock, Executor, HttpGetter, Notifier
from chatops.engine.postmortem_service import PostMortems
from chatops.engine.queries import Queries
from chatops.engine.redact import Redactor
from chatops.engine.roles import GroupLookup, Roles, no_groups
from chatops.engine.runbook import Runbook
from chatops.engine.runner import Runner
from chatops.engine.unit_of_work import Transactions
from chatops.errors import ConfigError
from chatops.executors.local import LocalExecutor
from chatops.executors.ssh import SshExecutor
from chatops.http_get import UrllibGetter
from chatops.liveness import OwnerLiveness, new_owner
from chatops.settings import Settings
from chatops.store.db import is_current, make_engine, upgrade
from chatops.store.outbox import SqlEventLog
from chatops.store.transaction import sql_transactions

log = logging.getLogger(__name__)


@dataclass
class Wired:
    settings: Settings
    config: Config
    runbooks: dict[str, Runbook]
    engine: Engine
    tx: Transactions
    queries: Queries
    events: SqlEventLog
    clock: Clock
    roles: Roles
    redactor: Redactor
    changes: ChangeService
    runner: Runner
    executors: Mapping[str, Executor]
    owner: str
    postmortems: PostMortems
    oncall: OnCall
    feeds: list[Feed]

    def listen(self, listener: Notifier) -> None:
        """Tell `listener` every event this process commits, right after the commit."""
        self.tx.listeners.append(listener)

    def follow(self, consumer: Notifier, name: str) -> Feed:
        """A consumer that follows the stored events from its own position, on a thread of
        its own, held by one process at a time."""
        feed = Feed(self.events, consumer, name, self.owner)
        self.tx.on_commit(feed.wake)
        self.feeds.append(feed.start())
        return feed

    @property
    def delivering(self) -> bool:
        return any(f.pending for f in self.feeds)

    def close(self, drain: float = 10.0) -> None:
        """Let the feeds handle what this process wrote (a hotfix's post-mortem, say), then
        stop them and hand their consumers to whichever process comes next."""
        for feed in self.feeds:
            feed.drain(drain)
            feed.stop()
        self.feeds.clear()

    def recover(self) -> list[int]:
        """Mark runs of dead processes interrupted (called at start)."""
        stale = self.config.policies.stale_run_delta
        check = OwnerLiveness(self.owner, self.clock.now(), stale)
        return [r.id for r in self.runner.recover(check)]


def ensure_schema(url: str, engine: Engine) -> None:
    """SQLite databases are created and upgraded on the fly; others need `chatops db upgrade`."""
    if make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
    elif not is_current(engine):
        raise ConfigError(
            url.split("@")[-1], ["database has no chatops schema: run `chatops db upgrade`"]
        )


def wire(
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
) -> Wired:
    config = config or load_config_or_empty(settings.config)
    runbooks = runbooks or load_runbooks(settings.commands)
    redactor = Redactor([*settings.secret_values(), *secret_values(config)])
    logs.configure(settings.log_format, settings.log_level, redactor)
    engine = make_engine(settings.database_url)
    ensure_schema(settings.database_url, engine)
    clock = clock or SystemClock()
    tx = sql_transactions(engine, clock)
    roles = Roles(config, groups_of or no_groups)
    executors = executors or {"ssh": SshExecutor(redactor), "local": LocalExecutor(redactor)}
    owner = owner or new_owner()
    postmortems = PostMortems(config, tx, clock, roles)
    getter = http or UrllibGetter()
    oncall = OnCall(config, tx, clock, roles, executors, getter)
    changes = ChangeService(config, runbooks, tx, clock, roles)
    runner = Runner(config, tx, clock, executors, getter, owner)
    wired = Wired(
        settings,
        config,
        runbooks,
        engine,
        tx,
        Queries(tx, config, roles, clock),
        SqlEventLog(engine),
        clock,
        roles,
        redactor,
        changes,
        runner,
        executors,
        owner,
        postmortems,
        oncall,
        [],
    )
    if notifier is not None:
        wired.listen(notifier)
    if follow_postmortems:
        wired.follow(postmortems, "postmortems")
    return wired
