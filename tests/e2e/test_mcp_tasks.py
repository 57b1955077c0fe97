"""MCP's Tasks extension (`io.modelcontextprotocol/tasks`), driven by the official SDK's client
with the extension declared: a proposal answers with a task handle; `tasks/get` says
`working` (who is still needed) while people decide, and `completed` with the proposal and
the decision once a lead approves in Slack; a task survives a restart of serve. A client
without the extension gets the proposal at once, as before."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.agent_rig import CHANNEL, DEPLOY, AgentRig, agent_rig
from tests.cli_rig import chatops
from tests.mcp_clients import Detached, GotTask, TasksClient, in_thread, over_http, poll_task, tool
from tests.serve_process import sqlite_serve
from tests.servers import Sshd

PROPOSAL = {"process": "deploy", "params": DEPLOY, "reason": "ship v2", "on_behalf_of": "U_CODER"}


@pytest.fixture
def rig(tmp_path: Path, sshd: Sshd) -> Iterator[AgentRig]:
    with agent_rig(tmp_path, sshd, {"requests_per_minute": 600, "burst": 100}) as r:
        r.add("architect-agent", "architect")
        yield r


def test_a_proposal_is_a_task_the_client_polls_until_people_decide(rig: AgentRig) -> None:
    tasks = TasksClient(poll=0.2)
    answer: dict[str, Any] = {}

    async def flow() -> None:
        async with (
            over_http(rig, rig.tokens["architect-agent"], extensions=[tasks]) as arch,
            anyio.create_task_group() as tg,
        ):

            async def propose() -> None:
                answer.update(await tool(arch, "propose_change", PROPOSAL))

            tg.start_soon(propose)
            await in_thread(lambda: rig.until(lambda: len(tasks.seen) >= 3))
            await in_thread(lambda: rig.until(lambda: rig.slack.plans(CHANNEL)))
            await in_thread(lambda: rig.slack.click("chatops.approve", user="U_LEAD"))

    anyio.run(flow)
    assert answer["decision"]["decision"] == "approved", answer
    assert answer["decision"]["approvers"] == ["U_LEAD"]
    assert answer["run"]["id"] and answer["plan"]["process"] == "deploy"
    [first, *polls] = tasks.seen
    assert first[1] == "working"
    waiting = [m for _t, s, m in polls if s == "working"]
    assert waiting and "waits for people in Slack: needs" in str(waiting[0])
    assert polls[-1][1] == "completed"
    assert len({t for t, _s, _m in tasks.seen}) == 1  # one task throughout


def test_without_the_extension_the_proposal_answers_at_once(rig: AgentRig) -> None:
    async def flow() -> dict[str, Any]:
        async with over_http(rig, rig.tokens["architect-agent"]) as arch:
            return dict(await tool(arch, "propose_change", PROPOSAL))

    made = anyio.run(flow)
    assert made["run"]["state"] == "awaiting_approval" and made.get("decision") is None


def test_a_task_survives_a_restart_of_serve(tmp_path: Path) -> None:
    """The task's handle is the run's, signed: after serve is killed and started again, a new
    session polls the same task and gets the decision."""
    with sqlite_serve(tmp_path) as (serve, _path, env):
        added = chatops(env, "agent", "add", "arch-agent", "--role", "architect", "--as", "U_LEAD")
        token = added.stdout.splitlines()[1]
        url = f"http://127.0.0.1:{serve.port}"
        proposal = {"process": "deploy", "params": {"service": "web"}, "reason": "ship"}

        async def handle() -> str:
            leaving = TasksClient(detach=True)  # records the task, and its client goes away
            async with over_http(url, token, extensions=[leaving]) as arch:
                with pytest.raises(Exception) as left:
                    await arch.call_tool("propose_change", proposal)
            found = [e for e in _chain(left.value) if isinstance(e, Detached)]
            assert found, left.value
            return found[0].task_id

        task_id = anyio.run(handle)
        assert serve.proc is not None
        serve.proc.send_signal(signal.SIGKILL)
        serve.proc.wait(timeout=10)
        serve.start()  # a new process on the same port and database

        async def later() -> GotTask:
            async with over_http(url, token, extensions=[TasksClient()]) as arch:
                first = await poll_task(arch, task_id)
                assert first.status == "working", first
                approved = await in_thread(
                    lambda: chatops(env, "approve", "1", "--as", "U_LEAD", fresh=True)
                )
                assert approved.returncode == 0, approved.stderr
                while (got := await poll_task(arch, task_id)).status == "working":
                    await anyio.sleep(0.2)
                return got

        done = anyio.run(later)
        assert done.status == "completed", done
        assert done.result is not None
        assert done.result["structuredContent"]["decision"]["decision"] == "approved"


def _chain(e: BaseException) -> list[BaseException]:
    """An exception and what it wraps (groups, causes)."""
    out = [e]
    if isinstance(e, BaseExceptionGroup):
        for inner in e.exceptions:
            out += _chain(inner)
    for nested in (e.__cause__, e.__context__):
        if nested is not None and nested not in out:
            out += _chain(nested)
    return out
