"""Reading: the processes and services one may act on, runs, a run in full, its events,
a link to its page."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.http import redact_tree
from chatops.api.mcp_kit import Kit
from chatops.api.operations import EVENTS, LINK, READ, RUNBOOKS, RUNS, SERVICES
from chatops.engine.agents.gate import Caller
from chatops.engine.domain.run import RunState
from chatops.errors import ChatopsError


def register(kit: Kit) -> None:
    gate = kit.gate

    @kit.tool("list_runbooks")
    def list_runbooks(ctx: Context) -> out.Runbooks:
        return out.Runbooks.model_validate(
            kit.call(
                ctx,
                RUNBOOKS.op,
                lambda c: {"runbooks": [views.runbook_json(i) for i in gate.runbooks(c)]},
            )
        )

    @kit.tool("list_services")
    def list_services(ctx: Context) -> out.Services:
        return out.Services.model_validate(
            kit.call(ctx, SERVICES.op, lambda c: {"services": gate.services(c)})
        )

    @kit.tool("get_run")
    def get_run(ctx: Context, run_id: int) -> out.Report:
        return out.Report.model_validate(
            kit.call(
                ctx, READ.op, lambda c: views.report_json(gate.report(c, run_id)), f"run {run_id}"
            )
        )

    @kit.tool("list_runs")
    def list_runs(
        ctx: Context, limit: int = 20, state: str | None = None, mine: bool = False
    ) -> out.Runs:
        try:
            states = (RunState(state),) if state else ()
        except ValueError:
            raise ToolError(f"400 state is one of {', '.join(s.value for s in RunState)}") from None
        return out.Runs.model_validate(
            kit.call(
                ctx,
                RUNS.op,
                lambda c: {"runs": [views.run_json(r) for r in gate.runs(c, limit, states, mine)]},
            )
        )

    @kit.tool("run_events")
    async def run_events(
        ctx: Context, run_id: int, after: int = 0, wait_seconds: float = 0
    ) -> out.Events:
        detail = f"run {run_id} after {after}"
        try:
            caller = await anyio.to_thread.run_sync(
                gate.enter, kit.token_of(ctx.headers), EVENTS.op, None, detail
            )
            found = await gate.polls.events(caller, run_id, max(0, after), max(0.0, wait_seconds))
        except ChatopsError as e:
            raise kit.fail(e) from None
        answer = redact_tree(views.events_json(found, after), kit.redactor)
        return out.Events.model_validate(answer)

    @kit.tool("run_link")
    def run_link(ctx: Context, run_id: int) -> out.Link:
        def work(c: Caller) -> Any:
            ttl = gate.pages.ttl if gate.pages is not None else 0
            url = kit.public_url.rstrip("/") + gate.link(c, run_id)
            return {"run_id": run_id, "url": url, "expires_in": int(ttl)}

        return out.Link.model_validate(kit.call(ctx, LINK.op, work, f"link to run {run_id}"))
