"""Steering what the agent proposed: report a coder step done (with evidence), cancel."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.mcp_kit import Kit
from chatops.api.operations import CANCEL, MARK_DONE
from chatops.engine.agents.gate import Caller
from chatops.engine.domain.evidence import Evidence


def register(kit: Kit) -> None:
    gate = kit.gate

    @kit.tool("mark_step_done")
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
            kit.call(ctx, MARK_DONE.op, work, f"run {run_id} step {step_id}")
        )

    @kit.tool("cancel_run")
    def cancel_run(ctx: Context, run_id: int) -> out.Cancelled:
        return out.Cancelled.model_validate(
            kit.call(
                ctx,
                CANCEL.op,
                lambda c: {"run": views.run_json(gate.cancel(c, run_id))},
                f"run {run_id}",
            )
        )
