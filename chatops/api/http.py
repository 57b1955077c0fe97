"""`/api/v1`: the agents' HTTP API, on the serve process beside Slack's endpoint.

Bearer tokens (`chatops agent add`), JSON in and out, every call through the engine's
`AgentGate` (authenticated, rate-limited, audited). Errors are JSON with a status that says
what went wrong: 400 unreadable, 401 no valid token, 403 not allowed (with the reason), 404,
409 not in this state, 422 against the process, 429 with Retry-After. Never a 500 for input.
"""

from __future__ import annotations

import logging
import math
import shlex
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chatops.api import views
from chatops.api.models import Done, Proposal
from chatops.api.openapi import document
from chatops.api.operations import (
    CANCEL,
    EVENTS,
    LINK,
    LOGS,
    MARK_DONE,
    ME,
    OPERATIONS,
    PROPOSE,
    READ,
    RUNBOOKS,
    RUNS,
    SERVICES,
    STATUS,
    WAIT_FOR,
)
from chatops.api.proposal_schema import proposal_schema
from chatops.engine.agents.gate import AgentGate, Caller
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.run import RunState
from chatops.engine.incidents.logquery import LogQuery, parse_logs
from chatops.engine.redact import Redactor
from chatops.errors import (
    ChatopsError,
    NotAuthenticated,
    NotFound,
    ParameterError,
    PermissionDenied,
    PolicyRefused,
    RateLimited,
    StateError,
)

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
PREFIX = "/api/v1"
MAX_BODY = 256 * 1024
THREADS = 8  # calls in flight on threads at once (long polls hold none), apart from Slack's


def status_of(e: ChatopsError) -> int:
    if isinstance(e, NotAuthenticated):
        return 401
    if isinstance(e, PermissionDenied):
        return 403
    if isinstance(e, NotFound):
        return 404
    if isinstance(e, StateError):
        return 409
    if isinstance(e, PolicyRefused):
        return 422
    if isinstance(e, RateLimited):
        return 429
    return 400  # ParameterError, TaskFormatError, anything else a caller can cause


def bearer(headers: Any) -> str:
    scheme, _, token = str(headers.get("authorization", "")).partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def redact_tree(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v, redact) for v in value]
    return value


class Api:
    def __init__(self, gate: AgentGate, redactor: Redactor, public_url: str = "") -> None:
        self.gate = gate
        self.redact = redactor
        self.public_url = public_url.rstrip("/")  # where people reach serve ("" : as asked)
        self.threads = anyio.CapacityLimiter(THREADS)

    def answer(self, body: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(redact_tree(body, self.redact), status_code=status)

    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(
            {"error": self.redact(message), "status": status}, status_code=status, headers=headers
        )

    async def call(
        self,
        request: Request,
        op: str,
        work: Callable[[Caller], Any] | None = None,
        *,
        waiting: Callable[[Caller], Awaitable[Any]] | None = None,
        detail: str = "",
        status: int = 200,
        on_behalf_of: str | None = None,
    ) -> Response:
        """Authenticate, run `work` on a thread of the API's own (or await `waiting`, a long
        poll that holds no thread), answer JSON."""
        token = bearer(request.headers)
        person = on_behalf_of or request.headers.get("x-on-behalf-of") or None

        def run() -> Any:
            caller = self.gate.enter(token, op, person, detail)
            return caller if work is None else work(caller)

        try:
            body = await anyio.to_thread.run_sync(run, limiter=self.threads)
            if waiting is not None:
                body = await waiting(body)
        except NotAuthenticated as e:
            return self.refuse(401, str(e), {"WWW-Authenticate": 'Bearer realm="chatops"'})
        except RateLimited as e:
            return self.refuse(429, str(e), {"Retry-After": str(math.ceil(e.retry_after))})
        except PolicyRefused as e:
            return self.refuse(422, str(e))
        except ChatopsError as e:
            return self.refuse(status_of(e), str(e))
        except ValidationError as e:
            return self.refuse(400, _problems(e))
        return self.answer(body, status)

    # -- routes ----------------------------------------------------------------------------
    async def openapi(self, request: Request) -> Response:
        """The document; with a token, the proposal schema is this agent's (its runbooks, the
        services in its scope that can run them, their environments), so what it allows is
        accepted. Without one it is generic: nothing of the inventory is told to anyone."""
        max_lines = self.gate.config.policies.logs_max_lines
        if not bearer(request.headers):
            return JSONResponse(document(max_lines))

        def work(c: Caller) -> Any:
            mine = proposal_schema(self.gate.proposable(c), self.gate.config)
            return document(max_lines, mine)

        return await self.call(request, "openapi", work)

    async def me(self, request: Request) -> Response:
        def work(c: Caller) -> Any:
            a = c.agent
            return {
                "name": a.name,
                "role": a.role,
                "principal": c.who,
                "services": list(a.services),
                "processes": list(a.processes),
                "expires_at": a.expires_at.isoformat() if a.expires_at else None,
                "on_behalf_of": c.on_behalf_of,
            }

        return await self.call(request, ME.op, work)

    async def runbooks(self, request: Request) -> Response:
        return await self.call(
            request,
            RUNBOOKS.op,
            lambda c: {"runbooks": [views.runbook_json(i) for i in self.gate.runbooks(c)]},
        )

    async def services(self, request: Request) -> Response:
        return await self.call(request, SERVICES.op, lambda c: {"services": self.gate.services(c)})

    async def propose(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return self.refuse(413, f"the body is larger than {MAX_BODY // 1024} KiB")
        try:
            proposal = Proposal.model_validate_json(raw or b"{}")
        except ValidationError as e:
            return self.refuse(400, _problems(e))

        def work(c: Caller) -> Any:
            if proposal.task is not None:
                req = self.gate.propose_task(
                    c,
                    proposal.task,
                    proposal.process,
                    proposal.string_params() or None,
                    proposal.answers,
                )
            else:
                assert proposal.process is not None
                req = self.gate.propose(
                    c,
                    proposal.process,
                    proposal.string_params(),
                    proposal.reason or "",
                    proposal.answers,
                )
            return views.requested_json(req)

        what = proposal.process or str((proposal.task or {}).get("task_id", "a task"))
        return await self.call(
            request,
            PROPOSE.op,
            work,
            detail=what[:80],
            status=201,
            on_behalf_of=proposal.on_behalf_of,
        )

    async def runs(self, request: Request) -> Response:
        q = request.query_params
        twice = [k for k in ("limit", "mine") if len(q.getlist(k)) > 1]
        if twice:  # one value each, as the document says (state may repeat)
            return self.refuse(400, f"{twice[0]} given more than once")
        try:
            limit = int(q.get("limit", "20"))
            states = tuple(RunState(s) for s in q.getlist("state"))
        except ValueError:
            known = ", ".join(s.value for s in RunState)
            return self.refuse(400, f"limit is a number; state is one of {known}")
        if not 1 <= limit <= 200:
            return self.refuse(400, "limit is from 1 to 200")
        mine_said = q.get("mine", "false").lower()
        if mine_said not in ("true", "false"):
            return self.refuse(400, "mine is true or false")
        mine = mine_said == "true"
        return await self.call(
            request,
            RUNS.op,
            lambda c: {"runs": [views.run_json(r) for r in self.gate.runs(c, limit, states, mine)]},
        )

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return await self.call(
            request,
            READ.op,
            lambda c: views.report_json(self.gate.report(c, run_id)),
            detail=f"run {run_id}",
        )

    async def decision(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        timeout = _seconds(request.query_params.get("wait", "0"))
        if timeout is None:
            return self.refuse(400, "wait is a number of seconds")

        arrived = time.monotonic()  # its deadline counts from here, not from a queue

        async def wait(c: Caller) -> Any:  # holds no thread while it waits
            decided = await self.gate.polls.decision(c, run_id, timeout, since=arrived)
            return views.decision_json(decided)

        return await self.call(
            request, WAIT_FOR.op, waiting=wait, detail=f"run {run_id}, up to {timeout:g} s"
        )

    async def events(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        q = request.query_params
        timeout = _seconds(q.get("wait", "0"))
        after = q.get("after", "0")
        if timeout is None or not after.isdigit():
            return self.refuse(400, "after is an event position; wait a number of seconds")

        arrived = time.monotonic()

        async def follow(c: Caller) -> Any:  # holds no thread while it waits
            found = await self.gate.polls.events(c, run_id, int(after), timeout, since=arrived)
            return views.events_json(found, int(after))

        return await self.call(
            request, EVENTS.op, waiting=follow, detail=f"run {run_id} after {after}"
        )

    async def done(self, request: Request) -> Response:
        run_id, step = request.path_params["run_id"], request.path_params["step"]
        try:
            body = Done.model_validate_json((await request.body()) or b"{}")
        except ValidationError as e:
            return self.refuse(400, _problems(e))

        def work(c: Caller) -> Any:
            evidence = Evidence(body.evidence, tuple(body.links))
            run = self.gate.mark_done(c, run_id, step, evidence)
            return {"run": views.run_json(run), "note": self.gate.idle_note(run)}

        return await self.call(request, MARK_DONE.op, work, detail=f"run {run_id} step {step}")

    async def cancel(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return await self.call(
            request,
            CANCEL.op,
            lambda c: {"run": views.run_json(self.gate.cancel(c, run_id))},
            detail=f"run {run_id}",
        )

    async def link(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        base = self.public_url or str(request.base_url).rstrip("/")

        def work(c: Caller) -> Any:
            path = self.gate.link(c, run_id)
            ttl = self.gate.pages.ttl if self.gate.pages is not None else 0
            return {"run_id": run_id, "url": base + path, "expires_in": int(ttl)}

        return await self.call(request, LINK.op, work, detail=f"link to run {run_id}")

    async def status(self, request: Request) -> Response:
        name = request.path_params["service"]
        env = request.query_params.get("environment")
        return await self.call(
            request,
            STATUS.op,
            lambda c: views.status_json(self.gate.status(c, name, env)),
            detail=name,
        )

    async def logs(self, request: Request) -> Response:
        name = request.path_params["service"]
        q = request.query_params
        try:
            query = log_query(name, dict(q), self.gate.config.policies.logs_max_lines)
        except ParameterError as e:
            return self.refuse(400, str(e))
        return await self.call(
            request,
            LOGS.op,
            lambda c: views.logs_json(self.gate.logs(c, query, q.get("environment"))),
            detail=name,
        )

    def guard(self, handler: Handler) -> Handler:
        """A token first: without a valid one the answer is 401, whatever the body or the
        query holds (nothing about the request is read before)."""

        async def guarded(request: Request) -> Response:
            try:
                await anyio.to_thread.run_sync(
                    self.gate.authenticate, bearer(request.headers), limiter=self.threads
                )
            except NotAuthenticated as e:
                return self.refuse(401, str(e), {"WWW-Authenticate": 'Bearer realm="chatops"'})
            except RateLimited as e:
                return self.refuse(429, str(e), {"Retry-After": str(math.ceil(e.retry_after))})
            return await handler(request)

        return guarded

    def handlers(self) -> dict[str, Handler]:
        """Each operation's handler, by its key in the table (`api/operations.py`)."""
        return {
            "me": self.me,
            "runbooks": self.runbooks,
            "services": self.services,
            "status": self.status,
            "logs": self.logs,
            "propose": self.propose,
            "runs": self.runs,
            "run": self.run,
            "decision": self.decision,
            "events": self.events,
            "done": self.done,
            "cancel": self.cancel,
            "link": self.link,
        }

    def routes(self) -> list[BaseRoute]:
        p = PREFIX
        g = self.guard
        handlers = self.handlers()
        served = [(o.key, o.http) for o in OPERATIONS if o.http is not None]
        assert sorted(handlers) == sorted(k for k, _ in served), "an operation without handler"
        known = [Route(p + h.route, g(handlers[k]), methods=[h.method]) for k, h in served]

        async def unknown(request: Request) -> Response:
            """Anything else under /api/v1: JSON like every other answer, never Starlette's
            plain text (a run id that is not a number, a method the path does not take)."""
            from starlette.routing import Match

            path = request.url.path
            partial = [r for r in known if r.matches(request.scope)[0] == Match.PARTIAL]
            if partial:  # RFC 9110: a 405 names the methods the path takes
                allowed = sorted({m for r in partial for m in (r.methods or ())})
                return self.refuse(
                    405,
                    f"{request.method} is not an operation of {path}",
                    {"Allow": ", ".join(allowed)},
                )
            return self.refuse(
                404, f"no such operation: {request.method} {path} (see {p}/openapi.json)"
            )

        everything = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [
            Route(f"{p}/openapi.json", self.openapi, methods=["GET"]),
            *known,
            Route(f"{p}/{{rest:path}}", g(unknown), methods=everything),
            Route(p, g(unknown), methods=everything),
        ]


def log_query(service: str, args: dict[str, str], max_lines: int) -> LogQuery:
    """The same validation as `/logs` (parse_logs), from query parameters."""
    words = [service] + [f"{k}={v}" for k, v in args.items() if k != "environment"]
    return parse_logs(" ".join(shlex.quote(w) for w in words), max_lines)


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _problems(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the body could not be read"
