"""Proposing: a process with its parameters and reason, or the Architect's task JSON.
People approve it in Slack; nothing runs before."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.mcp_kit import Kit, proposal
from chatops.api.operations import PROPOSE


def register(kit: Kit) -> None:
    gate = kit.gate

    @kit.tool("propose_change")
    def propose_change(
        ctx: Context,
        process: str,
        params: dict[str, str | int | bool],
        reason: Annotated[str, Field(max_length=2000)],
        on_behalf_of: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> out.Proposed:
        p = proposal(
            process=process,
            params=params,
            reason=reason,
            on_behalf_of=on_behalf_of,
            answers=answers or {},
        )
        return out.Proposed.model_validate(
            kit.call(
                ctx,
                PROPOSE.op,
                lambda c: views.requested_json(
                    gate.propose(c, process, p.string_params(), reason, p.answers)
                ),
                process,
                on_behalf_of,
            )
        )

    @kit.tool("propose_task")
    def propose_task(
        ctx: Context,
        task: dict[str, Any],
        process: str | None = None,
        params: dict[str, str | int | bool] | None = None,
        on_behalf_of: str | None = None,
        answers: dict[str, str] | None = None,
    ) -> out.Proposed:
        p = proposal(
            task=task,
            process=process,
            params=params or {},
            on_behalf_of=on_behalf_of,
            answers=answers or {},
        )
        return out.Proposed.model_validate(
            kit.call(
                ctx,
                PROPOSE.op,
                lambda c: views.requested_json(
                    gate.propose_task(c, task, process, p.string_params() or None, p.answers)
                ),
                str(task.get("task_id", "a task"))[:80],
                on_behalf_of,
            )
        )
