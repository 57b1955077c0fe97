"""Waiting for the people's decision: one call returns within MAX_CALL_WAIT (progress
reported meanwhile), pending or not; a cursor carries the wait on. Pending is never
approval, nor is a call that ended."""

from __future__ import annotations

import time

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.http import redact_tree
from chatops.api.mcp_kit import Kit
from chatops.api.operations import MAX_CALL_WAIT, WAIT_FOR
from chatops.errors import ChatopsError

PROGRESS_EVERY = 5.0  # seconds between progress notifications while a wait goes on


def cursor_of(run_id: int, waited: float) -> str:
    return f"w1.{run_id}.{int(waited * 1000)}"


def waited_by(cursor: str | None, run_id: int) -> float:
    """The seconds a cursor says were waited on run `run_id` before this call."""
    if not cursor:
        return 0.0
    parts = cursor.split(".")
    if len(parts) != 3 or parts[0] != "w1" or not parts[2].isdigit() or len(parts[2]) > 12:
        raise ToolError("400 cursor: pass back the one wait_for_decision returned")
    if parts[1] != str(run_id):
        raise ToolError(f"400 cursor: it is for run {parts[1][:12]}, not {run_id}")
    return int(parts[2]) / 1000


def register(kit: Kit) -> None:
    gate = kit.gate

    @kit.tool("wait_for_decision")
    async def wait_for_decision(
        ctx: Context, run_id: int, timeout_seconds: float = MAX_CALL_WAIT, cursor: str | None = None
    ) -> out.Decision:
        before = waited_by(cursor, run_id)
        total = max(0.0, float(timeout_seconds))
        this_call = min(max(0.0, total - before), MAX_CALL_WAIT)
        started = time.monotonic()
        detail = f"run {run_id}, up to {this_call:g} s ({before:g} s waited before)"
        try:
            caller = await anyio.to_thread.run_sync(
                gate.enter, kit.token_of(ctx.headers), WAIT_FOR.op, None, detail
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
            raise kit.fail(e) from None
        waited = before + time.monotonic() - started
        answer = views.decision_json(decided) | {
            "waited_s": round(waited, 1),
            "cursor": None if decided.final else cursor_of(run_id, waited),
        }
        return out.Decision.model_validate(redact_tree(answer, kit.redactor))
