"""`chatops serve`: the bot, in Socket Mode or behind HTTP. bootstrap builds it; this runs it."""

from __future__ import annotations

import logging
import sys

from chatops.errors import ConfigError
from chatops.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings, *, http: bool, host: str, port: int) -> int:
    from chatops.bootstrap import build, http_app
    from chatops.web.routes import web_routes

    # Runs, plans and Slack calls work on threads; the event loop that acks Slack must get
    # the GIL back quickly among them (the default switch interval is 5 ms).
    sys.setswitchinterval(0.001)
    if settings.public_url is None:  # links to run pages start where serve listens
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    bot = build(settings, slack=True, log_default="INFO")
    bot.start()
    try:
        if http:
            import uvicorn

            from chatops.slack.transport.limits import bounded

            app = http_app(bot)
            log.info(
                "serving Slack, /api/v1, /mcp, /runs and /insights over HTTP on %s:%s", host, port
            )
            uvicorn.run(
                **bounded(app, settings.max_body, settings.header_timeout),
                host=host,
                port=port,
                log_level="warning",
                proxy_headers=True,
            )
        elif settings.slack_app_token:
            from chatops.slack.transport.socket_mode import socket_mode

            pages = web_routes(bot.wired.pages, bot.wired.insights)
            socket_mode(bot.app, bot.inbox, bot.health, settings, host, port, pages)
        else:
            raise ConfigError("environment", ["set SLACK_APP_TOKEN (Socket Mode) or use --http"])
    finally:
        bot.stop()  # what the runs said reaches Slack before the process ends
    return 0
