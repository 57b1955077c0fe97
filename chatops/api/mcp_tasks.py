"""MCP's answer to long human decisions: the Tasks extension (`io.modelcontextprotocol/tasks`,
protocol 2026-07-28). Where a client declares it on a request, `propose_change` and
`propose_task` answer with a task handle (`resultType: "task"`) instead of the proposal; the
client polls `tasks/get`, which answers `working` (its `statusMessage` says who is still
needed) while people decide and `completed` with the proposal and the decision once it is
final. `tasks/cancel` cancels the proposed run; `tasks/update` is acknowledged (a decision
is asked of people in Slack, never of the client: no `inputRequests`, so `input_required`,
which would ask the client, is not used).

A task is as durable as its run: its id is a signed token naming the run and the agent
(the run pages' key), so it survives a restart of serve and any replica answers it. Clients
without the extension keep `wait_for_decision`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp_types import CallToolRequestParams, CallToolResult, RequestParams, TextContent

from chatops.api import views
from chatops.engine.agents.gate import AgentGate
from chatops.engine.domain.links import LinkRefused, read_token, token_for
from chatops.engine.redact import Redactor
from chatops.errors import ChatopsError

__all__ = ["TASKED", "TASKS", "DecisionTasks"]

TASKS = "io.modelcontextprotocol/tasks"
TASKED = frozenset({"propose_change", "propose_task"})  # a proposal becomes a task
POLL_MS = 2000  # how often a client should look
LIVES = 30 * 24 * 3600  # seconds a task id is honoured (a plan expires long before)

Headers = Callable[[Mapping[str, str] | None], str]


class TaskParams(RequestParams):
    taskId: str


class UpdateParams(TaskParams):
    inputResponses: dict[str, Any] = {}


def negotiated(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Did the client declare the tasks extension (on this request, or its session)?"""
    caps = getattr(ctx.session, "client_capabilities", None)
    extensions = getattr(caps, "extensions", None) or {}
    return TASKS in extensions


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class DecisionTasks(Extension):
    identifier = TASKS

    def __init__(self, gate: AgentGate, redactor: Redactor, token_of: Headers) -> None:
        self.gate = gate
        self.redactor = redactor
        self.token_of = token_of

    @property
    def enabled(self) -> bool:
        """Tasks need the key run-page links are signed with (they are signed the same way)."""
        return bool(self.gate.pages is not None and self.gate.pages.key)

    def methods(self) -> Sequence[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskParams, self._get),
            MethodBinding("tasks/update", UpdateParams, self._update),
            MethodBinding("tasks/cancel", TaskParams, self._cancel),
        ]

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        answer = await call_next(ctx)
        if params.name not in TASKED or not self.enabled or not negotiated(ctx):
            return answer
        proposed = _structured(answer)
        if proposed is None:  # refused, or an error: answered as it is
            return answer
        run_id = int(proposed["run"]["id"])
        caller = await anyio.to_thread.run_sync(self._enter, ctx, f"run {run_id}")
        decided = await anyio.to_thread.run_sync(self.gate.wait, caller, run_id, 0)
        if decided.final:  # nothing to wait for: the answer, with its decision
            return _result(proposed, views.decision_json(decided), self.redactor)
        task_id = token_for(
            self._key(), run_id, f"task:{caller.agent.name}", int(time.time()) + LIVES
        )
        return {"resultType": "task", **self._task(task_id, decided.run.created_at, decided)}

    # -- the methods -----------------------------------------------------------------------
    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        caller, run_id = await self._task_of(ctx, params.taskId)
        decided = await anyio.to_thread.run_sync(self.gate.wait, caller, run_id, 0)
        task = {
            "resultType": "complete",
            **self._task(params.taskId, decided.run.created_at, decided),
        }
        if decided.final:
            report = await anyio.to_thread.run_sync(self.gate.report, caller, run_id)
            proposed = {
                "run": views.run_json(report.run),
                "plan": views.plan_json(report.plan),
                "refusals": [],
            }
            state = "cancelled" if decided.decision == "cancelled" else "completed"
            task["status"] = state
            if state == "completed":
                task["result"] = _result(proposed, views.decision_json(decided), self.redactor)
        return task

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: UpdateParams
    ) -> HandlerResult:
        await self._task_of(ctx, params.taskId)
        return {}  # nothing is asked of the client: the people decide in Slack

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskParams
    ) -> HandlerResult:
        caller, run_id = await self._task_of(ctx, params.taskId)
        await anyio.to_thread.run_sync(self.gate.cancel, caller, run_id)
        return {}

    # -- helpers ---------------------------------------------------------------------------
    def _key(self) -> bytes:
        assert self.gate.pages is not None
        return self.gate.pages.key

    def _enter(self, ctx: ServerRequestContext[Any, Any], detail: str) -> Any:
        headers = getattr(ctx.request, "headers", None)
        return self.gate.enter(self.token_of(headers), "task", None, detail)

    async def _task_of(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[Any, int]:
        """The caller and the run of a task id it may read; anything else is refused alike."""
        from mcp.shared.exceptions import MCPError

        caller = await anyio.to_thread.run_sync(self._enter, ctx, f"task {task_id[:40]}")
        parts = task_id.split(".")
        run_text = parts[1] if len(parts) == 5 else ""
        try:
            if not self.enabled or not run_text.isdigit():
                raise LinkRefused("not a task of chatops")
            granted = read_token(self._key(), task_id, int(run_text), time.time())
            if granted.user != f"task:{caller.agent.name}":
                raise LinkRefused("not your task")
        except (LinkRefused, ChatopsError):
            raise MCPError(-32602, "no such task") from None
        return caller, granted.run_id

    def _task(self, task_id: str, created: datetime, decided: Any) -> dict[str, Any]:
        missing = "; ".join(decided.missing) or "a decision"
        return {
            "taskId": task_id,
            "status": "working",
            "statusMessage": self.redactor(
                f"run #{decided.run.id} waits for people in Slack: needs {missing}"
            ),
            "createdAt": _iso(created),
            "lastUpdatedAt": _iso(decided.run.updated_at),
            "ttlMs": None,
            "pollIntervalMs": POLL_MS,
        }


def _structured(answer: Any) -> dict[str, Any] | None:
    """The proposal a tool answered (its structured content), if it made a run."""
    data = answer.model_dump(by_alias=True) if hasattr(answer, "model_dump") else answer
    if not isinstance(data, dict) or data.get("isError"):
        return None
    found = data.get("structuredContent")
    if not isinstance(found, dict) or not isinstance(found.get("run"), dict):
        return None
    return found


def _result(
    proposed: dict[str, Any], decision: dict[str, Any], redactor: Redactor
) -> dict[str, Any]:
    """The tool's answer once decided: the proposal and its decision, as a CallToolResult."""
    body = {**proposed, "decision": decision}
    text = redactor(json.dumps(body, sort_keys=True))
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=json.loads(text),
        is_error=False,
    ).model_dump(by_alias=True, exclude_none=True)
