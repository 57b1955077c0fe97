"""The one place that wires adapters (SQL store, executors, HTTP) to the engine."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from chatops import logs
from chatops.clock import SystemClock
from chatops.config_files import load_config_or_empty, load_runbooks, secret_values
from chatops.engine.changes import ChangeService, NullNotifier
from chatops.engine.config import Config
from chatops.engine.events import Event
from chatops.engine.oncall import OnCall
from chatops.engine.ports import Clock, Executor, HttpGetter, Notifier
from chatops.engine.postmortem_service import PostMortems
from chatops.engine.redact import Redactor
from chatops.engine.roles import GroupLookup, Roles, no_groups
from chatops.engine.runbook import Runbook
from chatops.engine.runner import Runner
from chatops.errors import ConfigError
from chatops.executors.local import LocalExecutor
from chatops.executors.ssh import SshExecutor
from chatops.http_get import UrllibGetter
from chatops.liveness import OwnerLiveness, new_owner
from chatops.settings import Settings
from chatops.store.audit import SqlAuditLog
from chatops.store.db import is_current, make_engine, upgrade
from chatops.store.postmortems import SqlPostMortems
from chatops.store.runs import SqlRunStore

log = logging.getLogger(__name__)


class Relay:
    """A Notifier that tells several others (the terminal and Slack, say)."""

    def __init__(self, *targets: Notifier) -> None:
        self.targets = list(targets)

    def publish(self, event: Event) -> None:
        for t in self.targets:
            try:
                t.publish(event)
            except Exception:  # a consumer's failure is never the run's failure
                log.exception("%s could not handle %s", type(t).__name__, type(event).__name__)


@dataclass
class Wired:
    settings: Settings
    config: Config
    runbooks: dict[str, Runbook]
    engine: Engine
    store: SqlRunStore
    audit: SqlAuditLog
    clock: Clock
    roles: Roles
    redactor: Redactor
    changes: ChangeService
    runner: Runner
    executors: Mapping[str, Executor]
    owner: str
    postmortems: PostMortems
    oncall: OnCall
    relay: Relay

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
) -> Wired:
    config = config or load_config_or_empty(settings.config)
    runbooks = runbooks or load_runbooks(settings.commands)
    redactor = Redactor([*settings.secret_values(), *secret_values(config)])
    logs.configure(settings.log_format, settings.log_level, redactor)
    engine = make_engine(settings.database_url)
    ensure_schema(settings.database_url, engine)
    store = SqlRunStore(engine)
    audit = SqlAuditLog(engine)
    clock = clock or SystemClock()
    roles = Roles(config, groups_of or no_groups)
    executors = executors or {"ssh": SshExecutor(redactor), "local": LocalExecutor(redactor)}
    relay = Relay(notifier or NullNotifier())
    owner = owner or new_owner()
    pm_store = SqlPostMortems(engine)
    postmortems = PostMortems(config, store, audit, pm_store, clock, roles, relay)
    getter = http or UrllibGetter()
    oncall = OnCall(config, store, audit, clock, roles, executors, getter, pm_store)
    relay.targets.insert(0, postmortems)
    changes = ChangeService(config, runbooks, store, audit, clock, roles, relay)
    runner = Runner(config, store, audit, clock, executors, getter, relay, owner)
    return Wired(
        settings,
        config,
        runbooks,
        engine,
        store,
        audit,
        clock,
        roles,
        redactor,
        changes,
        runner,
        executors,
        owner,
        postmortems,
        oncall,
        relay,
    )
