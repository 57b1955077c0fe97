"""The MCP server: the agents' API as tools and resources, for Claude Code, Gemini CLI and
any MCP client. `chatops mcp` serves it over stdio (the token from CHATOPS_AGENT_TOKEN);
the serve process at `/mcp` over streamable HTTP (the token as a bearer header).

Every tool goes through the engine's AgentGate, as the HTTP API does: authenticated on each
call (a revoked token stops at once), rate-limited, audited, bound by the seed's rules. The
tools are in `api/mcp_*.py`, one module per concern, named and described by the
operations' table (`api/operations.py`).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from chatops.api import mcp_proposing, mcp_reading, mcp_services, mcp_steering, mcp_waiting
from chatops.api.mcp_kit import Kit, TokenOf
from chatops.api.mcp_resources import add_resources
from chatops.api.mcp_tasks import DecisionTasks
from chatops.engine.agents.gate import AgentGate
from chatops.engine.redact import Redactor

__all__ = ["INSTRUCTIONS", "TokenOf", "build_server"]

INSTRUCTIONS = """\
chatops is the gate for production changes. You propose; people approve in Slack; only the
steps of an approved plan run, on the servers, by chatops - never by you.

What you may do: list runbooks and services; propose a change (a process with parameters
and a reason, or the Architect -> Coder task JSON); wait for the decision; read a run, its
events, a service's status and logs; mark done, with evidence, a people's step of role coder
in an approved run (Coder agent only); cancel a run you proposed.

What you may not do: approve anything (you never count toward a quorum); run commands;
as the Coder agent, propose a schema migration, a new feature, an API change or a refactor
without the Architect's plan. A wait that times out means "pending": never treat it as
approval. Refusals say which rule applied; do not retry them unchanged.
"""


def build_server(
    gate: AgentGate, redactor: Redactor, token_of: TokenOf, public_url: str = ""
) -> MCPServer:
    tasks = DecisionTasks(gate, redactor, token_of)  # long decisions as MCP tasks
    extensions = [tasks] if tasks.enabled else []
    server: MCPServer = MCPServer(
        "chatops", instructions=INSTRUCTIONS, version="1", extensions=extensions
    )
    kit = Kit(server, gate, redactor, token_of, public_url)
    for module in (mcp_reading, mcp_proposing, mcp_waiting, mcp_steering, mcp_services):
        module.register(kit)
    add_resources(server, gate, kit.call)
    return server
