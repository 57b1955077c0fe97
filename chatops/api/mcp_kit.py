"""What an MCP tool is made with. The tools are one module per concern, each with
`register(kit)`: `mcp_reading`, `mcp_proposing`, `mcp_waiting`, `mcp_steering`,
`mcp_services`. Each tool's name, title, description and hints come from the operations'
table (`api/operations.py`), as the HTTP API's do."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from chatops.api.http import redact_tree, status_of
from chatops.api.models import Proposal
from chatops.api.operations import TOOLS
from chatops.engine.agents.gate import AgentGate, Caller
from chatops.engine.redact import Redactor
from chatops.errors import ChatopsError, RateLimited

__all__ = ["Kit", "TokenOf", "proposal"]

TokenOf = Callable[[Mapping[str, str] | None], str]  # a request's headers -> its token
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Kit:
    """What a tool is made with: the server, the gate every call goes through, and how a
    call is guarded (authenticated, audited, redacted; refusals as MCP errors)."""

    server: MCPServer
    gate: AgentGate
    redactor: Redactor
    token_of: TokenOf
    public_url: str = ""

    def tool(self, name: str) -> Callable[[F], F]:
        """Register a tool as the table names and describes it."""
        t = TOOLS[name]
        hints = ToolAnnotations(
            title=t.title,
            read_only_hint=t.read,
            destructive_hint=t.destructive,
            idempotent_hint=t.idempotent,
            open_world_hint=False,  # chatops only: nothing of the open world
        )
        register = self.server.tool(
            name=name, title=t.title, description=t.description, annotations=hints
        )

        def add(fn: F) -> F:
            register(fn)
            return fn

        return add

    def call(
        self,
        ctx: Context,
        op: str,
        work: Callable[[Caller], Any],
        detail: str = "",
        person: str | None = None,
    ) -> dict[str, Any]:
        """`work` for the caller the token says, through the gate; the answer redacted."""
        try:
            caller = self.gate.enter(self.token_of(ctx.headers), op, person, detail)
            answer: dict[str, Any] = redact_tree(work(caller), self.redactor)
            return answer
        except ChatopsError as e:
            raise self.fail(e) from None

    def fail(self, e: ChatopsError) -> ToolError:
        """A refusal as the tool's error, its status first (as the HTTP API answers it)."""
        if isinstance(e, RateLimited):
            return ToolError(f"429 rate limited: try again in {math.ceil(e.retry_after)} s")
        return ToolError(f"{status_of(e)} {self.redactor(str(e))}")


def proposal(**fields: Any) -> Proposal:
    """A proposal's fields, validated as the HTTP API's body is."""
    try:
        return Proposal.model_validate(fields)
    except ValidationError as e:
        problems = "; ".join(str(err.get("msg")) for err in e.errors()[:5])
        raise ToolError(f"400 {problems}") from None
