"""`chatops serve`: the bot, in Socket Mode or behind HTTP. bootstrap builds it; this runs it."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from chatops.errors import ConfigError
from chatops.settings import Settings

if TYPE_CHECKING:
    from chatops.bootstrap import Bot

log = logging.getLogger(__name__)


def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    from chatops import logs
    from chatops.bootstrap import build_bot

    # Runs, plans and Slack calls work on threads; the event loop that acks Slack must get
    # the GIL back quickly among them (the default switch interval is 5 ms).
    sys.setswitchinterval(0.001)
    bot = build_bot(settings)
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


def socket_mode(bot: Bot, settings: Settings, host: str, port: int) -> None:
    """Slack over a WebSocket, and /healthz and /metrics on host:port (nothing else there).
    The first connection is retried until it holds; after that the SDK reconnects."""
    import threading

    import uvicorn
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from chatops.slack.http import ops_asgi
    from chatops.socket_health import SocketHealth, combined

    assert settings.slack_app_token
    handler = SocketModeHandler(
        bot.app, settings.slack_app_token, ping_interval=settings.socket_ping
    )
    socket = SocketHealth(handler.client, grace=settings.socket_grace).start()
    stopping = threading.Event()

    def connect() -> None:
        while not stopping.is_set():
            try:
                handler.connect()  # type: ignore[no-untyped-call]
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
        handler.close()  # type: ignore[no-untyped-call]
        socket.stop()
