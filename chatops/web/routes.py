"""The web pages' routes, all behind personal links (`?t=<token>`):

- `GET /runs/<id>`: the run's page (HTML), live while the run goes on;
- `GET /runs/<id>/events`: server-sent events, one each time the page would change;
- `GET /runs/<id>/output/<step>`: a step's whole output on one host, a page of lines at a
  time, coloured or plain, searchable; `.../download` the same as a file (`raw=1` as it
  came, escapes and all), streamed;
- `GET /insights`: the team's delivery numbers and charts (the leads).

An unknown run is 404, a link that does not open it 403, in HTML or JSON as the client
asks; a failure inside is a 503 that says so; never a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from chatops.engine.runs.insights import Insights
from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.printable import Printable
from chatops.errors import NotFound, PermissionDenied, RateLimited
from chatops.web.html import csp, refusal_page
from chatops.web.insights_html import insights_page
from chatops.web.output_html import OutputQuery, output_page
from chatops.web.run_html import run_page

__all__ = ["MAX_STREAMS", "MAX_STREAMS_PER_USER", "POLL", "Streams", "web_routes"]

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks at a live run, for its events
RECHECK = 30.0  # seconds between checks, on a live stream, that its link still opens
KEEP_ALIVE = 15.0  # seconds of silence after which a stream says it is still there
MAX_STREAMS_PER_USER = 10  # live pages one person may have open at once
MAX_STREAMS = 200  # live pages open at once, in all


def _headers(script: bool = False, form: bool = False) -> dict[str, str]:
    return {
        "content-security-policy": csp(script=script, form=form),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",  # the token is in the address: never pass it on
        "cache-control": "no-store",
    }


def _refuse(request: Request, status: int, message: str) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        body = json.dumps({"error": message, "status": status})
        return Response(body, status, media_type="application/json", headers=_headers())
    return HTMLResponse(refusal_page(status, message), status, headers=_headers())


def _number(request: Request, name: str) -> int | None:
    text = str(request.path_params.get(name, ""))
    return int(text) if text.isdigit() and len(text) < 12 else None


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """NotFound is 404, a refused link 403 (429 past a client's limit of refused links),
    anything else a 503 that says so (logged)."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except NotFound as e:
            return _refuse(request, 404, str(e))
        except PermissionDenied as e:
            return _refuse(request, 403, str(e))
        except RateLimited as e:
            refused = _refuse(request, 429, str(e))
            refused.headers["retry-after"] = str(max(1, round(e.retry_after)))
            return refused
        except Exception:
            log.exception("a web page failed: %s", request.url.path)
            return _refuse(request, 503, "this page could not be read just now: try again")

    return guarded


def _client(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For, where uvicorn trusts it)."""
    return request.client.host if request.client else "unknown"


class Streams:
    """The live pages' event streams open now: at most `per_user` for one person and `total`
    in all; past either a new one is answered 429 (the page falls back to reloading)."""

    def __init__(self, per_user: int = MAX_STREAMS_PER_USER, total: int = MAX_STREAMS) -> None:
        self.per_user = per_user
        self.total = total
        self.open: dict[str, int] = {}

    def enter(self, user: str) -> None:
        if sum(self.open.values()) >= self.total:
            raise RateLimited(10.0, f"{self.total} live pages are open: try again shortly")
        if self.open.get(user, 0) >= self.per_user:
            raise RateLimited(
                10.0, f"{self.per_user} live pages are open for you: close one, or reload"
            )
        self.open[user] = self.open.get(user, 0) + 1

    def leave(self, user: str) -> None:
        self.open[user] -= 1
        if not self.open[user]:
            del self.open[user]


def web_routes(
    pages: RunPages, insights: Insights | None = None, streams: Streams | None = None
) -> list[BaseRoute]:
    live_streams = streams or Streams()  # touched on the event loop only: no lock

    async def page(request: Request) -> Response:
        run_id = _number(request, "run_id")
        if run_id is None:
            raise NotFound("no such run")
        token = request.query_params.get("t", "")
        found = await run_in_threadpool(pages.open, run_id, token, _client(request))
        live = not found.run.state.is_terminal
        return HTMLResponse(run_page(found, token), headers=_headers(script=live))

    async def events(request: Request) -> Response:
        run_id = _number(request, "run_id")
        if run_id is None:
            raise NotFound("no such run")
        token = request.query_params.get("t", "")
        user = await run_in_threadpool(pages.viewer, run_id, token, _client(request))
        first, _live = await run_in_threadpool(pages.version, run_id, token, False)
        live_streams.enter(user)
        return StreamingResponse(
            _counted(_stream(request, pages, run_id, token, first), live_streams, user),
            media_type="text/event-stream",
            headers={**_headers(), "x-accel-buffering": "no"},
        )

    def _step(request: Request) -> tuple[int, int]:
        run_id, step = _number(request, "run_id"), _number(request, "step")
        if run_id is None or step is None:
            raise NotFound("no such run or step")
        return run_id, step

    async def output(request: Request) -> Response:
        run_id, step = _step(request)
        token = request.query_params.get("t", "")
        title, chunks = await run_in_threadpool(
            pages.output_of, run_id, token, step, _client(request)
        )
        query = OutputQuery.of(dict(request.query_params))
        html = await run_in_threadpool(output_page, run_id, step, title, chunks, token, query)
        return HTMLResponse(html, headers=_headers(form=True))

    async def download(request: Request) -> Response:
        run_id, step = _step(request)
        token = request.query_params.get("t", "")
        chunks = await run_in_threadpool(pages.output, run_id, token, step, _client(request))
        raw = request.query_params.get("raw") == "1"

        def shown() -> Iterator[str]:
            if raw:  # as it came: colours and all, for `less -R`
                yield from chunks
                return
            terminal = Printable()  # what a terminal would have shown: no escapes, no NUL
            for chunk in chunks:
                yield terminal.feed(chunk)
            yield terminal.flush()

        name = f"run-{run_id}-step-{step}{'.ansi' if raw else ''}.log"
        headers = {**_headers(), "content-disposition": f'attachment; filename="{name}"'}
        return StreamingResponse(shown(), media_type="text/plain; charset=utf-8", headers=headers)

    async def team(request: Request) -> Response:
        if insights is None:
            raise NotFound("no insights here")
        token = request.query_params.get("t", "")
        service = request.query_params.get("service") or None
        if service is not None and (len(service) > 64 or not service.replace("-", "").isalnum()):
            raise NotFound(f"no service {service[:64]!r}")
        found = await run_in_threadpool(insights.open, token, service, _client(request))
        return HTMLResponse(insights_page(found), headers=_headers())

    return [
        Route("/runs/{run_id}", _guarded(page), methods=["GET"]),
        Route("/runs/{run_id}/events", _guarded(events), methods=["GET"]),
        Route("/runs/{run_id}/output/{step}", _guarded(output), methods=["GET"]),
        Route("/runs/{run_id}/output/{step}/download", _guarded(download), methods=["GET"]),
        Route("/insights", _guarded(team), methods=["GET"]),
    ]


async def _counted(parts: AsyncIterator[str], streams: Streams, user: str) -> AsyncIterator[str]:
    """A live page's stream, counted among `user`'s open ones until it ends."""
    try:
        async for part in parts:
            yield part
    finally:
        streams.leave(user)


async def _stream(
    request: Request, pages: RunPages, run_id: int, token: str, version: str
) -> AsyncIterator[str]:
    """`data: <version>` when the page would change (the first at once), `event: end` when
    the run has ended, `event: refused` when the link stops opening it; a comment now and
    then so that proxies keep the stream open. A store outage is waited out."""
    yield f"retry: 3000\ndata: {version}\n\n"
    last, checked, said = version, time.monotonic(), time.monotonic()
    while not await request.is_disconnected():
        await asyncio.sleep(POLL)
        check = time.monotonic() - checked > RECHECK
        try:
            version, live = await run_in_threadpool(pages.version, run_id, token, check)
        except PermissionDenied as e:
            yield f"event: refused\ndata: {str(e).splitlines()[0] if str(e) else 'refused'}\n\n"
            return
        except Exception:
            log.warning("a live run page could not read run #%s", run_id, exc_info=True)
            yield ": the store did not answer; trying again\n\n"
            continue
        if check:
            checked = time.monotonic()
        if version != last:
            last, said = version, time.monotonic()
            yield f"data: {version}\n\n"
        elif time.monotonic() - said > KEEP_ALIVE:
            said = time.monotonic()
            yield ": still here\n\n"
        if not live:
            yield "event: end\ndata: ended\n\n"
            return
