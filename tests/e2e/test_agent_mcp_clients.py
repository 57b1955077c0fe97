"""What MCP clients (Claude Code, Cursor, VS Code, Gemini CLI) read of our tools, checked
with the official SDK's client in both protocol revisions we serve (the SDK's newest,
2026-07-28, and the handshake before it, 2025-11-25), over /mcp and over stdio: every tool
has a title and annotations (reads marked read-only, what changes things destructive, none
open-world), an output schema, and answers with structuredContent beside the same text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION

from tests.agent_rig import AgentRig, agent_rig
from tests.e2e.test_agent_mcp import TOOLS
from tests.mcp_clients import over_http, over_stdio
from tests.servers import Sshd

READS = {
    "list_runbooks",
    "list_services",
    "wait_for_decision",
    "get_run",
    "list_runs",
    "run_events",
    "run_link",
    "service_status",
    "read_logs",
}
CHANGES = {"propose_change", "propose_task", "mark_step_done", "cancel_run"}
MODES = {"legacy": LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION: LATEST_MODERN_VERSION}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, sshd: Sshd) -> Iterator[AgentRig]:
    with agent_rig(tmp_path_factory.mktemp("mcp"), sshd) as r:
        r.add("coder-agent", "coder")
        yield r


async def what_a_client_reads(client: Client, protocol: str) -> None:
    async with client as c:
        assert c.protocol_version == protocol
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) == TOOLS and READS | CHANGES == TOOLS
        for name, t in tools.items():
            hints = t.annotations
            assert t.title and hints is not None and hints.title == t.title, name
            assert hints.open_world_hint is False, name
            assert hints.read_only_hint is (name in READS), name
            assert hints.destructive_hint is (name in CHANGES), name
            schema = t.output_schema or {}
            assert schema.get("type") == "object" and schema.get("required"), name
        assert tools["propose_task"].annotations.idempotent_hint is True  # type: ignore[union-attr]
        assert tools["propose_change"].annotations.idempotent_hint is False  # type: ignore[union-attr]
        result = await c.call_tool("list_runbooks", {})
        assert not result.is_error and result.structured_content is not None
        text = "".join(getattr(part, "text", "") for part in result.content)
        assert json.loads(text) == result.structured_content  # the same answer, twice
        assert set(tools["list_runbooks"].output_schema["required"]) <= set(  # type: ignore[index]
            result.structured_content
        )
        assert any(rb["name"] == "deploy" for rb in result.structured_content["runbooks"])


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_every_tool_is_described_annotated_and_answers_structured(
    rig: AgentRig, transport: str, mode: str
) -> None:
    token = rig.tokens["coder-agent"]
    client = over_http(rig, token, mode) if transport == "http" else over_stdio(rig, token, mode)
    anyio.run(what_a_client_reads, client, MODES[mode])


def test_a_cursor_from_another_run_or_forged_is_refused(rig: AgentRig) -> None:
    async def go() -> list[Any]:
        async with over_http(rig, rig.tokens["coder-agent"]) as c:
            out = []
            for cursor in ("w1.999.1000", "nonsense", "w1.1.1e9"):
                r = await c.call_tool(
                    "wait_for_decision", {"run_id": 1, "timeout_seconds": 1, "cursor": cursor}
                )
                out.append((r.is_error, "".join(getattr(x, "text", "") for x in r.content)))
            return out

    answers = anyio.run(go)
    assert all(error and "400 cursor" in text for error, text in answers), answers
