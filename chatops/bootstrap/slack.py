"""A Slack process's half (`chatops serve`, the console, the chat harness): the engine as a
worker on the Slack app's pools, what tells Slack, what hears it, the sweep, the audit
anchor, the reminders; and its HTTP app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chatops.adapters.config_files import load_config
from chatops.adapters.feeds import Published
from chatops.adapters.sweeper import Sweeper
from chatops.bootstrap.container import Container
from chatops.bootstrap.parts import config_reload, pruner, reminder_scheduler
from chatops.engine.planning.config import Config
from chatops.engine.ports import Clock, Executor, HttpGetter, Notifier
from chatops.errors import ConfigError
from chatops.settings import Settings
from chatops.wiring import Wired, wire_engine

if TYPE_CHECKING:
    from slack_bolt import App
    from starlette.applications import Starlette

    from chatops.adapters.config_reload import ConfigReload
    from chatops.slack.client import SafeWebClient
    from chatops.slack.listeners.services import SlackServices
    from chatops.slack.transport.inbox import Inbox
    from chatops.slack.workers import Workers

__all__ = ["http_app", "slack_process"]


def slack_process(
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

    reload = config_reload(settings, wired, groups_follow)
    services = _tellers(settings, wired, client, workers, reload, throttle_every)
    app, inbox, replay = _hearing(settings, wired, services)
    prune = pruner(settings, wired)
    sweeper = Sweeper(wired.services, wired.recover, settings.sweep_every, prune, replay)
    wired.listen(sweeper)  # a run approved to start later wakes it

    def post_anchor(channel: str, text: str) -> None:
        client.chat_postMessage(channel=channel, text=text)

    anchor = AuditAnchor(wired.config.audit, wired.audit_head, wired.clock, post_anchor)
    # the leader of the reminders anchors the audit chain too
    reminders = (
        reminder_scheduler(settings, wired, scheduler_retry, anchor.tick) if scheduler else None
    )
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
