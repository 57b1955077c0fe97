"""The agents' endpoints on the serve process: `/api/v1` and `/mcp` (streamable HTTP).

MCP over HTTP is served stateless, answering JSON: any replica can answer any request, as
with the API. A request without a valid bearer token is refused at the door (401); each
tool call authenticates again, so a token revoked mid-session stops at once.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio.to_thread
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from chatops.api.http import Api, bearer
from chatops.api.mcp import build_server
from chatops.engine.agents.gate import AgentGate
from chatops.engine.redact import Redactor
from chatops.errors import NotAuthenticated, RateLimited

Lifespan = Callable[[Any], AbstractAsyncContextManager[None]]


class BearerGuard:
    """Lets through only requests whose bearer token names an active agent."""

    def __init__(self, app: Any, gate: AgentGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer(headers)
        try:
            await anyio.to_thread.run_sync(self.gate.authenticate, token)
        except NotAuthenticated as e:
            await _refuse(send, 401, str(e), (b"www-authenticate", b'Bearer realm="chatops"'))
            return
        except RateLimited as e:
            retry = str(math.ceil(e.retry_after)).encode()
            await _refuse(send, 429, str(e), (b"retry-after", retry))
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str, header: tuple[bytes, bytes]) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"), header]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def agent_endpoints(
    gate: AgentGate, redactor: Redactor, public_url: str = ""
) -> tuple[list[BaseRoute], Lifespan]:
    """The routes to add to the serve app, and the lifespan the MCP transport needs."""
    server = build_server(gate, redactor, lambda headers: bearer(headers or {}), public_url)
    server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        # answers as server-sent events: a long call (wait_for_decision) sends its progress
        # notifications before its result, as clients expect of a call that takes a while
        json_response=False,
        # The bearer token is what keeps a browser page out (DNS rebinding cannot send it);
        # the serve process is reached under the names its operators give it.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    mcp_app = BearerGuard(StreamableHTTPASGIApp(manager), gate)
    routes: list[BaseRoute] = [
        *Api(gate, redactor, public_url).routes(),
        Route("/mcp", endpoint=mcp_app, methods=["GET", "POST", "DELETE"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return routes, lifespan
