"""The official MCP SDK's client, connected to chatops as an agent would: over streamable
HTTP at /mcp on the serve app, or over stdio to `chatops mcp`, in a protocol mode of its
choosing ("auto": the newest; "legacy": the initialize handshake, 2025-11-25)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, Field

from tests.agent_rig import AgentRig
from tests.conftest import ROOT


def over_http(
    rig: AgentRig | str,
    token: str | None,
    mode: str = "auto",
    extensions: list[ClientExtension] | None = None,
) -> Client:
    """The SDK's client over streamable HTTP at `/mcp` of the rig's app (or of `rig`, a URL)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120))
    url = rig if isinstance(rig, str) else rig.slack.url
    transport = streamable_http_client(f"{url}/mcp", http_client=http)
    return Client(transport, mode=mode, extensions=extensions)


def over_stdio(rig: AgentRig, token: str, mode: str = "auto") -> Client:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "CHATOPS_CONFIG": str(rig.config_path),
        "CHATOPS_COMMANDS": str(ROOT / "commands"),
        "CHATOPS_DATABASE_URL": rig.database_url,
        "CHATOPS_AGENT_TOKEN": token,
    }
    chatops = Path(sys.executable).parent / "chatops"  # the installed entry point
    params = StdioServerParameters(command=str(chatops), args=["mcp"], env=env)
    return Client(params, read_timeout_seconds=120, mode=mode)


async def tool(client: Client, name: str, args: dict[str, Any] | None = None) -> Any:
    """A tool's JSON answer; an error result raises with its text."""
    result = await client.call_tool(name, args or {})
    text = "".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        raise ToolRefused(text)
    return result.structured_content if result.structured_content else json.loads(text)


class ToolRefused(Exception):
    pass


async def in_thread(fn: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args)


TASKS = "io.modelcontextprotocol/tasks"


class TaskParams(RequestParams):
    taskId: str


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams


class CreateTask(Result):
    """What a server answers in lieu of a result when it makes a task."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"] = Field(alias="resultType")
    taskId: str
    status: str
    pollIntervalMs: int | None = None


class GotTask(Result):
    model_config = ConfigDict(extra="allow")
    taskId: str
    status: str
    statusMessage: str | None = None
    result: dict[str, Any] | None = None


class Detached(Exception):
    """A task recorded and left, to be polled later (in another session)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(task_id)
        self.task_id = task_id


async def poll_task(client: Client, task_id: str) -> GotTask:
    """One `tasks/get` of `task_id` on `client`'s session."""
    return await client.session.send_request(GetTask(params=TaskParams(taskId=task_id)), GotTask)


class TasksClient(ClientExtension):
    """The Tasks extension as a client does it, over the SDK's own extension hooks: declared
    on each request; a `resultType: "task"` answer is polled with `tasks/get` (at its
    `pollIntervalMs`) until it ends, and its result is the tool's. `seen` records each task
    and what each poll said (a test looks at them)."""

    identifier = TASKS

    def __init__(self, poll: float | None = None, detach: bool = False) -> None:
        self.poll = poll
        self.detach = detach  # record the task and leave (a client that polls it later)
        self.seen: list[tuple[str, str, str | None]] = []  # task id, status, message

    def claims(self) -> list[ResultClaim[Any]]:
        async def resolve(task: CreateTask, cc: ClaimContext) -> CallToolResult:
            self.seen.append((task.taskId, task.status, None))
            if self.detach:
                raise Detached(task.taskId)
            while True:
                try:
                    got = await cc.session.send_request(
                        GetTask(params=TaskParams(taskId=task.taskId)), GotTask
                    )
                except httpx2.TransportError:  # the server away (a restart): poll on
                    await anyio.sleep(0.5)
                    continue
                self.seen.append((got.taskId, got.status, got.statusMessage))
                if got.status in ("completed", "failed", "cancelled"):
                    if got.result is None:
                        raise ToolRefused(f"task {got.status}: {got.statusMessage}")
                    return CallToolResult.model_validate(got.result)
                interval = self.poll or (task.pollIntervalMs or 1000) / 1000
                await anyio.sleep(interval)

        return [ResultClaim(result_type="task", model=CreateTask, resolve=resolve)]
