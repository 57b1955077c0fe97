"""`chatops serve`: the bot, in Socket Mode or behind HTTP. bootstrap builds it; this runs it."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from chatops.errors import ConfigError
from chatops.settings import Settings

if TYPE_CHECKING:
    from chatops.bootstrap import Container

log = logging.getLogger(__name__)


def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    from chatops import logs
    from chatops.bootstrap import build

    # Runs, plans and Slack calls work on threads; the event loop that acks Slack must get
    # the GIL back quickly among them (the default switch interval is 5 ms).
    sys.setswitchinterval(0.001)
    bot = build(settings, slack=True)
    logs.configure(settings.log_format, settings.log_level, bot.wired.redactor, default="INFO")
    bot.start()
    try:
        if http:
            if not settings.slack_signing_secret:
                raise ConfigError("environment", ["SLACK_SIGNING_SECRET is required in HTTP mode"])
            import uvicorn

            from chatops.api.web import agent_endpoints
            from chatops.slack.http import asgi

            routes, lifespan = agent_endpoints(bot.wired.gate, bot.wired.redactor)
            log.info("serving Slack, /api/v1 and /mcp over HTTP on %s:%s", host, port)
            uvicorn.run(
                asgi(
                    bot.app,
                    bot.health,
                    settings.slack_signing_secret,
                    routes,
                    lifespan,
                    inbox=bot.inbox,
                ),
                host=host,
                port=port,
                log_level="warning",
                proxy_headers=True,
            )
        elif settings.slack_app_token:
            socket_mode(bot, settings, host, port)
        else:
            raise ConfigError("environment", ["set SLACK_APP_TOKEN (Socket Mode) or use --http"])
    finally:
        bot.stop()  # what the runs said reaches Slack before the process ends
    return 0


def socket_mode(bot: Container, settings: Settings, host: str, port: int) -> None:
    """Slack over a WebSocket, and /healthz and /metrics on host:port (nothing else there).
    The first connection is retried until it holds; after that the SDK reconnects."""
    import threading

    import uvicorn
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from chatops.slack.http import ops_asgi
    from chatops.socket_health import SocketHealth, combined

    assert settings.slack_app_token
    handler = durable_handler(SocketModeHandler)(
        bot.app, settings.slack_app_token, ping_interval=settings.socket_ping
    )
    handler.inbox = bot.inbox
    socket = SocketHealth(handler.client, grace=settings.socket_grace).start()
    stopping = threading.Event()

    def connect() -> None:
        while not stopping.is_set():
            try:
                handler.connect()
                log.info("connected to Slack in Socket Mode")
                return
            except Exception as e:  # Slack unreachable at start: /healthz says so
                log.warning("could not connect in Socket Mode (%s): trying again", e)
                stopping.wait(min(5.0, settings.socket_ping))

    threading.Thread(target=connect, name="chatops-socket-connect", daemon=True).start()
    try:
        log.info("serving /healthz and /metrics on %s:%s", host, port)
        uvicorn.run(
            ops_asgi(lambda: combined(bot.health, socket)),
            host=host,
            port=port,
            log_level="warning",
        )
    finally:
        stopping.set()
        handler.close()
        socket.stop()


def durable_handler(base: Any) -> Any:
    """bolt's Socket Mode handler, storing an envelope that is acked with nothing before it
    is handled (the inbox, as HTTP mode's fast ack does): the ack goes back after dispatch,
    so a process killed after the ack has left the request for the next one."""
    import json

    from chatops.slack.inbox import SOCKET_MODE, key_of
    from chatops.slack.intake import acked_empty

    class Durable(base):  # type: ignore[misc]
        inbox: Any = None

        def handle(self, client: Any, req: Any) -> None:
            payload = req.payload if isinstance(req.payload, dict) else None
            key = key_of(payload) if payload is not None and acked_empty(payload) else None
            if self.inbox is None or key is None:
                super().handle(client, req)
                return
            try:
                inbox_id = self.inbox.accept(key, SOCKET_MODE, json.dumps(payload).encode())
            except Exception as e:  # not stored: no ack, so Slack (or the user) tries again
                log.error("could not store a Socket Mode envelope before acking it: %s", e)
                return
            if inbox_id is None:  # sent before: stored and handled once
                super().handle(client, req)  # bolt's dedupe drops it; Slack gets its ack
                return
            self.inbox.completion.run(inbox_id, lambda: super(Durable, self).handle(client, req))

    return Durable
