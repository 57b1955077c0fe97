"""HTTP mode: bolt behind Starlette on uvicorn. POST /slack/events, GET /healthz, /metrics.

Every request's signature is checked (the signing secret, the timestamp within five
minutes, the v0 HMAC-SHA256), by `intake.screen` and again by bolt; a request that cannot be
read gets a 4xx there. Dispatch runs on a thread so the event loop never blocks.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatops.metrics import exposition
from chatops.slack.intake import Signature, screen

Health = Callable[[], dict[str, object]]


def asgi(app: App, health: Health, signing_secret: str) -> Starlette:
    signature = Signature(signing_secret)

    async def events(request: Request) -> Response:
        body = await request.body()
        refused = screen(signature, body, request.headers)
        if refused is not None:
            status, reason = refused
            return JSONResponse({"ok": False, "error": reason}, status_code=status)
        bolt_response = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(_request: Request) -> Response:
        state = await run_in_threadpool(health)
        return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

    async def metrics(_request: Request) -> Response:
        body = await run_in_threadpool(exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
