"""The run page's routes: `GET /runs/<id>?t=<token>` (HTML) and
`GET /runs/<id>/output/<step>?t=<token>` (a step's whole output on one host, streamed as
text a page of chunks at a time). An unknown run is 404, a link that does not open it 403,
in HTML or JSON as the client asks; never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.printable import Printable
from chatops.errors import NotFound, PermissionDenied
from chatops.web.html import CSP, refusal_page, run_page

log = logging.getLogger(__name__)

HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # the token is in the address: never pass it on
    "cache-control": "no-store",
}


def _refuse(request: Request, status: int, message: str) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        body = json.dumps({"error": message, "status": status})
        return Response(body, status, media_type="application/json", headers=HEADERS)
    return HTMLResponse(refusal_page(status, message), status, headers=HEADERS)


def _run_id(request: Request) -> int | None:
    text = str(request.path_params.get("run_id", ""))
    return int(text) if text.isdigit() and len(text) < 12 else None


def run_routes(pages: RunPages) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        run_id = _run_id(request)
        if run_id is None:
            return _refuse(request, 404, "no such run")
        token = request.query_params.get("t", "")
        try:
            found = await run_in_threadpool(pages.open, run_id, token)
        except NotFound:
            return _refuse(request, 404, f"there is no run #{run_id}")
        except PermissionDenied as e:
            return _refuse(request, 403, str(e))
        return HTMLResponse(run_page(found, token), headers=HEADERS)

    async def output(request: Request) -> Response:
        run_id = _run_id(request)
        step = str(request.path_params.get("step", ""))
        if run_id is None or not step.isdigit() or len(step) > 12:
            return _refuse(request, 404, "no such run or step")
        token = request.query_params.get("t", "")
        try:
            chunks = await run_in_threadpool(pages.output, run_id, token, int(step))
        except NotFound as e:
            return _refuse(request, 404, str(e))
        except PermissionDenied as e:
            return _refuse(request, 403, str(e))

        def shown() -> Iterator[str]:
            terminal = Printable()  # what a terminal would have shown: no escapes, no NUL
            for chunk in chunks:
                yield terminal.feed(chunk)
            yield terminal.flush()

        name = f"run-{run_id}-step-{step}.log"
        headers = {**HEADERS, "content-disposition": f'inline; filename="{name}"'}
        return StreamingResponse(shown(), media_type="text/plain; charset=utf-8", headers=headers)

    return [
        Route("/runs/{run_id}", page, methods=["GET"]),
        Route("/runs/{run_id}/output/{step}", output, methods=["GET"]),
    ]
