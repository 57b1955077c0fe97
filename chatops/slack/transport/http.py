"""HTTP mode: bolt behind Starlette on uvicorn. POST /slack/events, GET /healthz, /metrics.

Every request's signature is checked (the signing secret, the timestamp within five
minutes, the v0 HMAC-SHA256), by `intake.screen` and again by bolt; a request that cannot be
read gets a 4xx there. Dispatch runs on a thread so the event loop never blocks. Requests
whose ack carries nothing (slash commands, clicks, events) are answered 200 at once and
handled after: a burst of 20 `/change` is acked as fast as by a bare bolt AsyncApp.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chatops.metrics import exposition
from chatops.slack.transport.inbox import Inbox
from chatops.slack.transport.intake import Signature, screen

log = logging.getLogger(__name__)
Health = Callable[[], dict[str, object]]


def asgi(
    app: App,
    health: Health,
    signing_secret: str,
    routes: Sequence[BaseRoute] = (),
    lifespan: Any = None,
    inbox: Inbox | None = None,
) -> Starlette:
    """`routes` (and the `lifespan` they need) are served beside Slack's: the agents' API.
    With an `inbox`, a request acked early is stored before its 200 (one small insert)."""
    signature = Signature(signing_secret)

    early = Early(app, inbox=inbox)

    async def events(request: Request) -> Response:
        body = await request.body()
        screened = screen(signature, body, request.headers)
        if screened.refused is not None:
            status, reason = screened.refused
            return JSONResponse({"ok": False, "error": reason}, status_code=status)
        bolt_request = to_bolt_request(request, body)
        if screened.ack_now:  # the ack carries nothing: answer before bolt runs
            inbox_id = None
            if inbox is not None and screened.key is not None:
                try:
                    stored = inbox.accept_soon(
                        screened.key, request.headers.get("content-type", ""), body
                    )
                    inbox_id = await asyncio.wrap_future(stored)
                except Exception as e:  # not stored: no 200, so Slack (or the user) tries again
                    log.error("could not store a Slack request before acking it: %s", e)
                    return JSONResponse(
                        {"ok": False, "error": "the bot cannot store requests right now"},
                        status_code=503,
                    )
                if inbox_id is None:  # sent before (an event's retry): stored and handled once
                    return Response(status_code=200)
            early.submit(bolt_request, inbox_id)
            return Response(status_code=200)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    api = Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            *health_routes(health),
            *routes,
        ],
        lifespan=lifespan,
    )
    api.state.early = early
    return api


class Snapshots:
    """/healthz's state and /metrics' text, made by a thread of their own every `every`
    seconds and answered from memory on the event loop: a probe never waits behind a busy
    pool or a slow store. A snapshot older than `stale` seconds (the store hangs the thread)
    answers 503 and says so."""

    def __init__(self, health: Health, every: float = 1.0, stale: float = 10.0) -> None:
        self.health = health
        self.every = every
        self.stale = stale
        self._state: tuple[float, dict[str, object]] | None = None
        self._metrics: bytes = b""
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="chatops-health", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            try:
                state = self.health()
            except Exception as e:  # a broken check is a degraded process, said plainly
                state = {"status": "degraded", "reason": f"health check failed: {e!r}"[:300]}
            try:
                text = exposition()
            except Exception:
                log.exception("metrics could not be made")
                text = self._metrics
            self._state, self._metrics = (time.monotonic(), state), text
            self._ready.set()
            time.sleep(self.every)

    async def state(self) -> dict[str, object]:
        self._start()
        if not self._ready.is_set():  # the first one: awaited without a thread
            deadline = time.monotonic() + self.stale
            while not self._ready.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        got = self._state
        if got is None:
            return {"status": "degraded", "reason": "the health check has not completed yet"}
        age = time.monotonic() - got[0]
        if age > self.stale:
            return {
                **got[1],
                "status": "degraded",
                "reason": f"the health check has not completed for {age:.0f} s",
            }
        return got[1]

    async def metrics(self) -> bytes:
        await self.state()
        return self._metrics


def health_routes(health: Health) -> list[BaseRoute]:
    """GET /healthz (200 while ok, 503 with the reason otherwise) and GET /metrics, both
    answered on the event loop from a snapshot (`Snapshots`)."""
    snapshots = Snapshots(health)

    async def healthz(_request: Request) -> Response:
        state = await snapshots.state()
        return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

    async def metrics(_request: Request) -> Response:
        return Response(await snapshots.metrics(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def ops_asgi(health: Health, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """Socket Mode's port: /healthz and /metrics and the `routes` given (the run pages); no
    Slack endpoint."""
    return Starlette(routes=[*health_routes(health), *routes])


class Early:
    """Requests answered before bolt handled them, handled on threads of their own."""

    def __init__(self, app: App, workers: int = 2, inbox: Inbox | None = None) -> None:
        self.app = app
        self.inbox = inbox
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chatops-early")
        self._lock = threading.Lock()
        self._pending = 0

    def submit(self, request: BoltRequest, inbox_id: int | None = None) -> None:
        with self._lock:
            self._pending += 1
        if inbox_id is not None and self.inbox is not None:
            done = self.inbox.completion
            self._pool.submit(done.run, inbox_id, lambda: self._dispatch(request))
        else:
            self._pool.submit(self._dispatch, request)

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._pending > 0

    def _dispatch(self, request: BoltRequest) -> None:
        try:
            self.app.dispatch(request)
        except Exception:  # bolt reports listener errors itself; this is anything else
            log.exception("bolt could not handle a request acked early")
        finally:
            with self._lock:
                self._pending -= 1
