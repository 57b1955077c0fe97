"""The official MCP SDK's client, connected to chatops as an agent would: over streamable
HTTP at /mcp on the serve app, or over stdio to `chatops mcp`, in a protocol mode of its
choosing ("auto": the newest; "legacy": the initialize handshake, 2025-11-25)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.agent_rig import AgentRig
from tests.conftest import ROOT


def over_http(rig: AgentRig, token: str | None, mode: str = "auto") -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120))
    return Client(streamable_http_client(f"{rig.slack.url}/mcp", http_client=http), mode=mode)


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
