"""Slack over a WebSocket (Socket Mode): bolt's handler, made durable (an envelope acked
with nothing is stored before its ack, as HTTP mode's fast ack does), and /healthz and
/metrics served beside it on a port of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute

from chatops.settings import Settings

log = logging.getLogger(__name__)


def socket_mode(
    app: Any,
    inbox: Any,
    health: Callable[[], dict[str, object]],
    settings: Settings,
    host: str,
    port: int,
    routes: Sequence[BaseRoute] = (),
) -> None:
    """Slack over a WebSocket, and /healthz and /metrics on host:port (nothing else there).
    The first connection is retried until it holds; after that the SDK reconnects."""
    import threading

    import uvicorn
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from chatops.slack.transport.http import ops_asgi
    from chatops.slack.transport.limits import bounded
    from chatops.slack.transport.socket_health import SocketHealth, combined

    assert settings.slack_app_token
    handler = durable_handler(SocketModeHandler)(
        app, settings.slack_app_token, ping_interval=settings.socket_ping
    )
    handler.inbox = inbox
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
            **bounded(
                ops_asgi(lambda: combined(health, socket), routes),
                settings.max_body,
                settings.header_timeout,
            ),
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

    from chatops.slack.transport.inbox import SOCKET_MODE, key_of
    from chatops.slack.transport.intake import acked_empty

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
