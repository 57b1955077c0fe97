"""The MCP Inspector (the protocol's own debugging client, its CLI) reads our tools over
`/mcp` and over stdio (`chatops mcp`): every tool with its title, annotations and output
schema, and a call answered with structuredContent. scripts/test installs it with npm into
.cache/inspector (pinned); without Node.js it is skipped outside CI, a failure in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent_rig import AgentRig, agent_rig
from tests.conftest import ROOT, need
from tests.e2e.test_agent_mcp import TOOLS
from tests.servers import Sshd

INSPECTOR = ROOT / ".cache" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, sshd: Sshd) -> Iterator[AgentRig]:
    if not INSPECTOR.exists() or shutil.which("node") is None:
        need("the MCP Inspector (Node.js and npm)", "apt-get install nodejs npm; ./scripts/test")
    with agent_rig(tmp_path_factory.mktemp("inspector"), sshd) as r:
        r.add("coder-agent", "coder")
        yield r


def inspect(target: list[str], *args: str) -> Any:
    out = subprocess.run(
        # a loaded machine starts `chatops mcp` slower than the Inspector's 15 s default
        [str(INSPECTOR), "--cli", "--connect-timeout", "90000", *target, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MCP_CATALOG_PATH": str(ROOT / ".cache" / "inspector" / "mcp.json")},
    )
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


def targets(rig: AgentRig) -> dict[str, list[str]]:
    token = rig.tokens["coder-agent"]
    chatops = Path(sys.executable).parent / "chatops"
    env = {
        "CHATOPS_CONFIG": str(rig.config_path),
        "CHATOPS_COMMANDS": str(ROOT / "commands"),
        "CHATOPS_DATABASE_URL": rig.database_url,
        "CHATOPS_AGENT_TOKEN": token,
    }
    stdio = [x for k, v in env.items() for x in ("-e", f"{k}={v}")] + [str(chatops), "mcp"]
    http = [
        f"{rig.slack.url}/mcp",
        "--transport",
        "http",
        "--header",
        f"Authorization: Bearer {token}",
    ]
    return {"http": http, "stdio": stdio}


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_the_inspector_reads_every_tool_and_a_structured_answer(
    rig: AgentRig, transport: str
) -> None:
    target = targets(rig)[transport]
    listed = inspect(target, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert set(tools) == TOOLS
    for name, t in tools.items():
        hints = t["annotations"]
        assert t["title"] and hints["openWorldHint"] is False, name
        assert t["outputSchema"]["type"] == "object" and t["outputSchema"]["required"], name
    assert tools["get_run"]["annotations"]["readOnlyHint"] is True
    assert tools["cancel_run"]["annotations"]["destructiveHint"] is True
    called = inspect(target, "--method", "tools/call", "--tool-name", "list_runbooks")
    assert called.get("isError") is not True, called
    runbooks = called["structuredContent"]["runbooks"]
    assert any(rb["name"] == "deploy" for rb in runbooks)
    assert json.loads(called["content"][0]["text"]) == called["structuredContent"]
