"""What the HTTP server bounds before anything is authenticated: a request's body and the
time its headers may take. Every route is behind both (Slack's, the agents' API, MCP, the
run pages, /healthz).

- `BodyLimit`: a body over the limit (1 MiB by default: Slack's payloads are far smaller) is
  refused with 413 before it is read, by its Content-Length, and while it streams when it
  names none (chunked): an unsigned 300 MiB POST no longer grows the process by 300 MiB.
- `HeaderTimeout`: uvicorn's HTTP/1.1 protocol, closing a connection whose request headers
  are not complete within `HEADER_TIMEOUT` seconds of its opening (or of the previous
  response): a slow client cannot hold sockets open for a minute each.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT", "MAX_BODY", "BodyLimit", "HeaderTimeout", "bounded"]

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes a request body may carry
HEADER_TIMEOUT = 10.0  # seconds a request's headers may take to arrive

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a body over `limit` bytes, never read past the limit."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _answer(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > self.limit:
            await _answer(send, 413, self._why())
            return
        seen = 0
        over = False
        started = False

        async def bounded() -> Message:
            nonlocal seen, over
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLarge()
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:  # what the app says of a body it was never given whole is not sent
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded, answer)
        except _TooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await _answer(send, 413, self._why())

    def _why(self) -> str:
        return f"the request body is over {self.limit} bytes"


def _content_length(scope: Scope) -> int | None:
    """The declared length; None if none; -1 if it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


async def _answer(send: Any, status: int, reason: str) -> None:
    body = json.dumps({"ok": False, "error": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HeaderTimeout(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._headers_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._headers_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_headers_timer", None)
        if timer is not None:
            timer.cancel()
            self._headers_timer = None

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers arrived whole
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its headers came in time
        log.info("closed a connection whose request headers took over %gs", self.header_timeout)
        body = f"the request's headers took over {self.header_timeout:g} s\n".encode()
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            + body
        )
        self.transport.close()


def bounded(
    app: Any, max_body: int = MAX_BODY, header_timeout: float = HEADER_TIMEOUT
) -> dict[str, Any]:
    """uvicorn's keyword arguments for `app` behind both bounds: `app` and `http`."""
    protocol = type("BoundedHeaders", (HeaderTimeout,), {"header_timeout": header_timeout})
    return {"app": BodyLimit(app, max_body), "http": protocol}
