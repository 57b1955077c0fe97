"""The MCP server, driven by the official SDK's own client: over streamable HTTP at /mcp on
the serve app, and over stdio against `chatops mcp` as a subprocess. An Architect agent
proposes a deploy, a lead approves with a Slack-signed click, the agent's wait returns
approved, the Coder agent reports its step done, the run succeeds on the real sshd, and the
agent reads the result."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from chatops.simulator.harness import ChatHarness
from tests.agent_rig import CHANNEL, DEPLOY, AgentRig, agent_rig
from tests.mcp_clients import ToolRefused, in_thread, over_http, over_stdio, tool
from tests.servers import Sshd

TOOLS = {
    "list_runbooks",
    "list_services",
    "propose_change",
    "propose_task",
    "wait_for_decision",
    "get_run",
    "list_runs",
    "run_events",
    "mark_step_done",
    "cancel_run",
    "run_link",
    "service_status",
    "read_logs",
}


@pytest.fixture
def rig(tmp_path: Path, sshd: Sshd) -> Iterator[AgentRig]:
    with agent_rig(tmp_path, sshd, {"requests_per_minute": 600, "burst": 100}) as r:
        r.add("architect-agent", "architect")
        r.add("coder-agent", "coder")
        yield r


async def the_whole_flow(
    rig: AgentRig, architect: AbstractAsyncContextManager[Client], coder_session: Any
) -> None:
    slack: ChatHarness = rig.slack
    async with architect as arch:
        listed = await arch.list_tools()
        assert {t.name for t in listed.tools} >= TOOLS
        propose = next(t for t in listed.tools if t.name == "propose_change")
        assert "People approve it in Slack" in (propose.description or "")
        runbooks = await tool(arch, "list_runbooks")
        assert any(rb["name"] == "deploy" and rb["may_propose"] for rb in runbooks["runbooks"])
        made = await tool(
            arch,
            "propose_change",
            {"process": "deploy", "params": DEPLOY, "reason": "ship v2", "on_behalf_of": "U_CODER"},
        )
        run_id = made["run"]["id"]
        # its own run, but the architect's role reads no logs here: no link to its page
        with pytest.raises(ToolRefused, match="may see a run's page"):
            await tool(arch, "run_link", {"run_id": run_id})
        pending = await tool(arch, "wait_for_decision", {"run_id": run_id, "timeout_seconds": 0.2})
        assert pending["decision"] == "pending" and pending["final"] is False

        async with anyio.create_task_group() as tg:
            answer: dict[str, Any] = {}

            async def wait() -> None:
                answer.update(
                    await tool(arch, "wait_for_decision", {"run_id": run_id, "timeout_seconds": 60})
                )

            tg.start_soon(wait)
            await in_thread(lambda: rig.until(lambda: slack.plans(CHANNEL)))
            await in_thread(lambda: slack.click("chatops.approve", user="U_LEAD"))
        assert answer["decision"] == "approved" and answer["approvers"] == ["U_LEAD"]

        async with coder_session() as coder:
            await in_thread(
                lambda: rig.until(
                    lambda: slack.wired.queries.get_run(run_id).current_step == "prepare"
                )
            )
            done = await tool(
                coder,
                "mark_step_done",
                {"run_id": run_id, "step_id": "prepare", "evidence": "v2 tagged, CI green"},
            )
            assert done["run"]["id"] == run_id
            after, kinds = 0, []
            deadline = time.monotonic() + 120
            while "RunFinished" not in kinds:
                assert time.monotonic() < deadline, kinds
                page = await tool(
                    coder, "run_events", {"run_id": run_id, "after": after, "wait_seconds": 30}
                )
                kinds += [e["type"] for e in page["events"]]
                after = page["next_after"]

        report = await tool(arch, "get_run", {"run_id": run_id})
        assert report["run"]["state"] == "succeeded", report
        assert any("installing" in s["output_tail"] for s in report["steps"])
        assert (rig.app.app_dir / "VERSION").read_text().strip() == "v2"


def test_over_streamable_http(rig: AgentRig) -> None:
    arch, coder = rig.tokens["architect-agent"], rig.tokens["coder-agent"]
    anyio.run(the_whole_flow, rig, over_http(rig, arch), lambda: over_http(rig, coder))
    rig.slack.settle()
    [plan] = rig.slack.plans(CHANNEL)
    assert ":robot_face: architect-agent on behalf of <@U_CODER>" in str(plan.blocks)


def test_over_stdio_against_chatops_mcp(rig: AgentRig) -> None:
    arch, coder = rig.tokens["architect-agent"], rig.tokens["coder-agent"]
    anyio.run(the_whole_flow, rig, over_stdio(rig, arch), lambda: over_stdio(rig, coder))
    actors = {a for a, act, _ in rig.audit() if act == "agent.propose"}
    assert actors == {"agent:architect-agent"}


async def report_and_leave(rig: AgentRig) -> tuple[int, dict[str, Any]]:
    """An Architect proposes over stdio and leaves; a lead approves; the Coder reports its
    step done over stdio and closes its session at once, as an agent's client does when its
    session ends (`chatops mcp` then exits)."""
    slack: ChatHarness = rig.slack
    async with over_stdio(rig, rig.tokens["architect-agent"]) as arch:
        made = await tool(
            arch,
            "propose_change",
            {"process": "deploy", "params": DEPLOY, "reason": "ship v2", "on_behalf_of": "U_CODER"},
        )
    run_id = int(made["run"]["id"])
    await in_thread(lambda: rig.until(lambda: slack.plans(CHANNEL)))
    await in_thread(lambda: slack.click("chatops.approve", user="U_LEAD"))
    await in_thread(
        lambda: rig.until(lambda: slack.wired.queries.get_run(run_id).current_step == "prepare")
    )
    async with over_stdio(rig, rig.tokens["coder-agent"]) as coder:
        done = await tool(
            coder,
            "mark_step_done",
            {"run_id": run_id, "step_id": "prepare", "evidence": "v2 tagged, CI green"},
        )
    return run_id, done


def test_an_agents_exit_never_touches_its_run(rig: AgentRig) -> None:
    """The run goes on in serve, a worker; the agent's process, gone, never ran a step."""
    run_id, done = anyio.run(report_and_leave, rig)
    assert done["note"] is None  # a worker is alive: nothing to warn of
    queries = rig.slack.wired.queries
    rig.until(lambda: queries.get_run(run_id).state.is_terminal, timeout=120)
    run = queries.get_run(run_id)
    assert run.state.value == "succeeded", run.error
    actions = [act for _a, act, _d in rig.audit()]
    assert "run.interrupted" not in actions and "run.taken_over" not in actions
    assert (rig.app.app_dir / "VERSION").read_text().strip() == "v2"


async def refusals(rig: AgentRig) -> None:
    async with over_http(rig, rig.tokens["coder-agent"]) as coder:
        with pytest.raises(ToolRefused, match="must NOT change the database schema"):
            await tool(
                coder,
                "propose_change",
                {"process": "migration", "params": {"service": "web"}, "reason": "add a column"},
            )
    async with over_http(rig, rig.tokens["architect-agent"]) as arch:
        with pytest.raises(ToolRefused, match="answer the planning questions of feature"):
            await tool(
                arch,
                "propose_change",
                {"process": "feature", "params": {"service": "web"}, "reason": "labels"},
            )
    async with over_http(rig, rig.tokens["coder-agent"]) as coder:
        resource = await coder.read_resource("chatops://runbooks/migration")
        body = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
        assert body["may_propose"] is False
        await in_thread(lambda: rig.slack.wired.agents.revoke("coder-agent", by="U_LEAD"))
        with pytest.raises(MCPError):  # the door answers 401 now: the session is over
            await tool(coder, "list_runs")
    denied = [d for a, act, d in rig.audit() if (a, act) == ("agent:coder-agent", "denied.agent")]
    assert denied == ["token revoked"]


def test_refusals_over_mcp(rig: AgentRig) -> None:
    anyio.run(refusals, rig)


async def no_token(rig: AgentRig) -> None:
    async with over_http(rig, None) as client:
        await client.list_tools()


def test_mcp_over_http_needs_a_token(rig: AgentRig) -> None:
    with pytest.raises(ExceptionGroup) as refused:
        anyio.run(no_token, rig)
    assert refused.group_contains(MCPError, depth=None)
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    req = urllib.request.Request(
        f"{rig.slack.url}/mcp",
        data=json.dumps(hello).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, timeout=10)
    assert http.value.code == 401 and http.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert ("unknown-agent", "denied.agent") in [(a, b) for a, b, _ in rig.audit()]


def test_chatops_mcp_never_creates_a_database_and_says_where_it_looked(
    rig: AgentRig, tmp_path: Path
) -> None:
    """Started by an agent in its own folder, as a careless snippet would: no new, empty
    ./chatops.db that knows no agent; a database without the agent says which it was."""
    import subprocess

    folder = tmp_path / "agent-project"
    folder.mkdir()
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "CHATOPS_AGENT_TOKEN": rig.tokens["architect-agent"],
        "CHATOPS_CONFIG": str(rig.config_path),
    }
    chatops = str(Path(sys.executable).parent / "chatops")
    out = subprocess.run(
        [chatops, "mcp"], cwd=folder, env=base, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stderr
    assert f"no chatops database at {folder / 'chatops.db'}" in out.stderr
    assert "CHATOPS_DATABASE_URL" in out.stderr and not (folder / "chatops.db").exists()

    other = tmp_path / "other.db"
    out = subprocess.run(
        [chatops, "mcp", "--database-url", f"sqlite:///{tmp_path / 'scratch.db'}"],
        cwd=folder,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "no chatops database" in out.stderr
    from chatops.store.db import make_engine, upgrade

    upgrade(f"sqlite:///{other}")
    make_engine(f"sqlite:///{other}").dispose()
    out = subprocess.run(
        [chatops, "mcp"],
        cwd=folder,
        env={**base, "CHATOPS_DATABASE_URL": f"sqlite:///{other}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 3, out.stderr
    assert f"looked in the database at {other}" in out.stderr
