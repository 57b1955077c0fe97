"""The MCP server: the agents' API as tools and resources, for Claude Code, Gemini CLI and
any MCP client. `chatops mcp` serves it over stdio (the token from CHATOPS_AGENT_TOKEN);
the serve process at `/mcp` over streamable HTTP (the token as a bearer header).

Every tool goes through the engine's AgentGate, as the HTTP API does: authenticated on each
call (a revoked token stops at once), rate-limited, audited, bound by the seed's rules.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.http import log_query, redact_tree, status_of
from chatops.api.mcp_resources import add_resources
from chatops.api.mcp_tasks import DecisionTasks
from chatops.api.models import Proposal
from chatops.engine.agents.gate import AgentGate, Caller
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.run import RunState
from chatops.engine.redact import Redactor
from chatops.errors import ChatopsError, RateLimited

TokenOf = Callable[[Mapping[str, str] | None], str]  # a request's headers -> its token

#: A call of wait_for_decision returns by then, pending or not: MCP clients end a tool call
#: after about 60 s, and a call that ended so must never look like a failure (or approval).
MAX_CALL_WAIT = 45.0
PROGRESS_EVERY = 5.0  # seconds between progress notifications while a wait goes on


def _hints(
    title: str, *, read: bool, destructive: bool = False, idempotent: bool = True
) -> dict[str, Any]:
    """A tool's title and annotations, as MCP clients read them to ask before a call."""
    return {
        "title": title,
        "annotations": ToolAnnotations(
            title=title,
            read_only_hint=read,
            destructive_hint=destructive,
            idempotent_hint=idempotent,
            open_world_hint=False,  # chatops only: nothing of the open world
        ),
    }


def _cursor(run_id: int, waited: float) -> str:
    return f"w1.{run_id}.{int(waited * 1000)}"


def _waited(cursor: str | None, run_id: int) -> float:
    """The seconds a cursor says were waited on run `run_id` before this call."""
    if not cursor:
        return 0.0
    parts = cursor.split(".")
    if len(parts) != 3 or parts[0] != "w1" or not parts[2].isdigit() or len(parts[2]) > 12:
        raise ToolError("400 cursor: pass back the one wait_for_decision returned")
    if parts[1] != str(run_id):
        raise ToolError(f"400 cursor: it is for run {parts[1][:12]}, not {run_id}")
    return int(parts[2]) / 1000


INSTRUCTIONS = """\
chatops is the gate for production changes. You propose; people approve in Slack; only the
steps of an approved plan run, on the servers, by chatops - never by you.

What you may do: list runbooks and services; propose a change (a process with parameters
and a reason, or the Architect -> Coder task JSON); wait for the decision; read a run, its
events, a service's status and logs; mark done, with evidence, a people's step of role coder
in an approved run (Coder agent only); cancel a run you proposed.

What you may not do: approve anything (you never count toward a quorum); run commands;
as the Coder agent, propose a schema migration, a new feature, an API change or a refactor
without the Architect's plan. A wait that times out means "pending": never treat it as
approval. Refusals say which rule applied; do not retry them unchanged.
"""


def build_server(
    gate: AgentGate, redactor: Redactor, token_of: TokenOf, public_url: str = ""
) -> MCPServer:
    tasks = DecisionTasks(gate, redactor, token_of)  # long decisions as MCP tasks
    extensions = [tasks] if tasks.enabled else []
    server: MCPServer = MCPServer(
        "chatops", instructions=INSTRUCTIONS, version="1", extensions=extensions
    )

    def call(
        ctx: Context,
        op: str,
        work: Callable[[Caller], Any],
        detail: str = "",
        person: str | None = None,
    ) -> dict[str, Any]:
        try:
            caller = gate.enter(token_of(ctx.headers), op, person, detail)
            answer: dict[str, Any] = redact_tree(work(caller), redactor)
            return answer
        except ChatopsError as e:
            raise fail(e) from None

    @server.tool(
        **_hints("List the processes", read=True),
        description="The processes (runbooks) and, for each, whether you may propose it and why "
        "not. Read this before proposing.",
    )
    def list_runbooks(ctx: Context) -> out.Runbooks:
        return out.Runbooks.model_validate(
            call(
                ctx,
                "runbooks",
                lambda c: {"runbooks": [views.runbook_json(i) for i in gate.runbooks(c)]},
            )
        )

    @server.tool(
        **_hints("List the services", read=True), description="The services you may act on."
    )
    def list_services(ctx: Context) -> out.Services:
        return out.Services.model_validate(
            call(ctx, "services", lambda c: {"services": gate.services(c)})
        )

    @server.tool(
        **_hints("Propose a change", read=False, destructive=True, idempotent=False),
        description="Propose a change: a process (see list_runbooks) with its parameters and a "
        "reason, and answers to its planning questions by id (list_runbooks names them; a "
        "required one left out is refused). People approve it in Slack; nothing runs before. "
        "Returns the run id: then wait_for_decision. on_behalf_of is the Slack user id of the "
        "person you act for.",
    )
    def propose_change(
        ctx: Context,
        process: str,
        params: dict[str, str | int | bool],
        reason: Annotated[str, Field(max_length=2000)],
        on_behalf_of: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> out.Proposed:
        p = _proposal(
            process=process,
            params=params,
            reason=reason,
            on_behalf_of=on_behalf_of,
            answers=answers or {},
        )
        return out.Proposed.model_validate(
            call(
                ctx,
                "propose",
                lambda c: views.requested_json(
                    gate.propose(c, process, p.string_params(), reason, p.answers)
                ),
                process,
                on_behalf_of,
            )
        )

    @server.tool(
        **_hints("Propose an Architect task", read=False, destructive=True),
        description="Propose the Architect -> Coder task JSON (short: target_agent, task_id, "
        "objective, steps, validation; or the long form with payload). Steps written "
        "'[step-id] text' are the runbook's steps; others become people's steps of role coder. "
        "Task text never becomes a command. answers: the runbook's planning questions by id "
        "(a required one left out is refused). The task_id is your idempotency key: the same "
        "task again returns the same plan; a revised one replaces it before it runs. People "
        "approve it in Slack.",
    )
    def propose_task(
        ctx: Context,
        task: dict[str, Any],
        process: str | None = None,
        params: dict[str, str | int | bool] | None = None,
        on_behalf_of: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> out.Proposed:
        p = _proposal(
            task=task,
            process=process,
            params=params or {},
            on_behalf_of=on_behalf_of,
            answers=answers or {},
        )
        return out.Proposed.model_validate(
            call(
                ctx,
                "propose",
                lambda c: views.requested_json(
                    gate.propose_task(c, task, process, p.string_params() or None, p.answers)
                ),
                str(task.get("task_id", "a task"))[:80],
                on_behalf_of,
            )
        )

    def fail(e: ChatopsError) -> ToolError:
        if isinstance(e, RateLimited):
            return ToolError(f"429 rate limited: try again in {math.ceil(e.retry_after)} s")
        return ToolError(f"{status_of(e)} {redactor(str(e))}")

    @server.tool(
        **_hints("Wait for the decision", read=True),
        description="Wait up to timeout_seconds in all for the people's decision on a run: "
        "approved, rejected (with the reason), expired, cancelled, or pending. One call returns "
        f"within {MAX_CALL_WAIT:g} s (progress is reported while it waits); while pending it "
        "returns a cursor: call again with it to go on waiting, counting on. pending is NOT "
        "approval, nor is a call that ended: wait again or stop.",
    )
    async def wait_for_decision(
        ctx: Context, run_id: int, timeout_seconds: float = MAX_CALL_WAIT, cursor: str | None = None
    ) -> out.Decision:
        before = _waited(cursor, run_id)
        total = max(0.0, float(timeout_seconds))
        this_call = min(max(0.0, total - before), MAX_CALL_WAIT)
        started = time.monotonic()
        detail = f"run {run_id}, up to {this_call:g} s ({before:g} s waited before)"
        try:
            caller = await anyio.to_thread.run_sync(
                gate.enter, token_of(ctx.headers), "wait", None, detail
            )
            while True:
                left = this_call - (time.monotonic() - started)
                piece = max(0.0, min(PROGRESS_EVERY, left))
                decided = await gate.polls.decision(caller, run_id, piece)  # no thread held
                if decided.final or left <= PROGRESS_EVERY:
                    break
                waited = before + time.monotonic() - started
                missing = "; ".join(decided.missing) or "a decision"
                await ctx.report_progress(waited, total or None, f"pending: needs {missing}")
        except ChatopsError as e:
            raise fail(e) from None
        waited = before + time.monotonic() - started
        answer = views.decision_json(decided) | {
            "waited_s": round(waited, 1),
            "cursor": None if decided.final else _cursor(run_id, waited),
        }
        return out.Decision.model_validate(redact_tree(answer, redactor))

    @server.tool(
        **_hints("Read a run", read=True),
        description="A run: its state and decision, the plan (steps, commands, approvals), and "
        "per-host step results with output tails.",
    )
    def get_run(ctx: Context, run_id: int) -> out.Report:
        return out.Report.model_validate(
            call(ctx, "read", lambda c: views.report_json(gate.report(c, run_id)), f"run {run_id}")
        )

    @server.tool(
        **_hints("List runs", read=True),
        description="Recent runs you may see, newest first; mine=true for your own.",
    )
    def list_runs(
        ctx: Context, limit: int = 20, state: str | None = None, mine: bool = False
    ) -> out.Runs:
        try:
            states = (RunState(state),) if state else ()
        except ValueError:
            raise ToolError(f"400 state is one of {', '.join(s.value for s in RunState)}") from None
        return out.Runs.model_validate(
            call(
                ctx,
                "runs",
                lambda c: {"runs": [views.run_json(r) for r in gate.runs(c, limit, states, mine)]},
            )
        )

    @server.tool(
        **_hints("Read a run's events", read=True),
        description="A run's events after position `after` (approvals, steps, output, the end), "
        "waiting up to wait_seconds for the first. Pass next_after back to continue.",
    )
    async def run_events(
        ctx: Context, run_id: int, after: int = 0, wait_seconds: float = 0
    ) -> out.Events:
        detail = f"run {run_id} after {after}"
        try:
            caller = await anyio.to_thread.run_sync(
                gate.enter, token_of(ctx.headers), "events", None, detail
            )
            found = await gate.polls.events(caller, run_id, max(0, after), max(0.0, wait_seconds))
        except ChatopsError as e:
            raise fail(e) from None
        answer = redact_tree(views.events_json(found, after), redactor)
        return out.Events.model_validate(answer)

    @server.tool(
        **_hints("Report a step done", read=False, destructive=True, idempotent=False),
        description="Coder agent only: report a people's step of role coder done in an approved "
        "run that waits on it, with evidence (what was done and how it was checked) and links. "
        "Gates and other roles' steps are for people.",
    )
    def mark_step_done(
        ctx: Context,
        run_id: int,
        step_id: str,
        evidence: Annotated[str, Field(min_length=1, max_length=4000)],
        links: list[str] | None = None,
    ) -> out.StepReported:
        def work(c: Caller) -> Any:
            run = gate.mark_done(c, run_id, step_id, Evidence(evidence, tuple(links or ())))
            return {"run": views.run_json(run), "note": gate.idle_note(run)}

        return out.StepReported.model_validate(
            call(ctx, "mark_done", work, f"run {run_id} step {step_id}")
        )

    @server.tool(
        **_hints("Cancel a run", read=False, destructive=True),
        description="Cancel a run you proposed (before or while it runs).",
    )
    def cancel_run(ctx: Context, run_id: int) -> out.Cancelled:
        return out.Cancelled.model_validate(
            call(
                ctx,
                "cancel",
                lambda c: {"run": views.run_json(gate.cancel(c, run_id))},
                f"run {run_id}",
            )
        )

    @server.tool(
        **_hints("Link to a run's page", read=True),
        description="A link to the web page of a run you proposed (the plan, every step's "
        "output, the audit rows), made for you and expiring; a person opens it only if it is "
        "theirs, so give people their own View run button in Slack instead.",
    )
    def run_link(ctx: Context, run_id: int) -> out.Link:
        def work(c: Caller) -> Any:
            ttl = gate.pages.ttl if gate.pages is not None else 0
            url = public_url.rstrip("/") + gate.link(c, run_id)
            return {"run_id": run_id, "url": url, "expires_in": int(ttl)}

        return out.Link.model_validate(call(ctx, "read", work, f"link to run {run_id}"))

    @server.tool(
        **_hints("A service's status", read=True),
        description="A service's status as /status shows it: per-host state, health check, last "
        "successful run, active runs, open post-mortems.",
    )
    def service_status(ctx: Context, service: str, environment: str | None = None) -> out.Status:
        return out.Status.model_validate(
            call(
                ctx,
                "status",
                lambda c: views.status_json(gate.status(c, service, environment)),
                service,
            )
        )

    @server.tool(
        **_hints("Read a service's logs", read=True),
        description="Recent log lines of a service (as /logs, same policy). since like 30m/1h/2d; "
        "grep is a fixed string; stream out, err or all.",
    )
    def read_logs(
        ctx: Context,
        service: str,
        lines: int = 200,
        since: str | None = None,
        grep: str | None = None,
        host: str | None = None,
        stream: str = "all",
        environment: str | None = None,
    ) -> out.Logs:
        args = {"lines": str(lines), "stream": stream}
        args |= {k: v for k, v in (("since", since), ("grep", grep), ("host", host)) if v}
        try:
            query = log_query(service, args, gate.config.policies.logs_max_lines)
        except ChatopsError as e:
            raise ToolError(f"400 {e}") from None
        return out.Logs.model_validate(
            call(ctx, "logs", lambda c: views.logs_json(gate.logs(c, query, environment)), service)
        )

    add_resources(server, gate, call)
    return server


def _proposal(**fields: Any) -> Proposal:
    try:
        return Proposal.model_validate(fields)
    except ValidationError as e:
        problems = "; ".join(str(err.get("msg")) for err in e.errors()[:5])
        raise ToolError(f"400 {problems}") from None
