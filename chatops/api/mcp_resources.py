"""The MCP server's resources: the index of processes and of services, and each in full,
read through the same guarded call as the tools (authenticated, audited, in scope)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from chatops.api import views
from chatops.engine.agents.gate import AgentGate, Caller
from chatops.errors import NotFound

__all__ = ["Call", "add_resources"]


class Call(Protocol):
    """The server's guarded call: `call(ctx, op, work, detail)`."""

    def __call__(
        self,
        ctx: Context,
        op: str,
        work: Callable[[Caller], Any],
        detail: str = "",
        person: str | None = None,
    ) -> dict[str, Any]: ...


def add_resources(server: MCPServer, gate: AgentGate, call: Call) -> None:
    @server.resource(
        "chatops://runbooks",
        description="The index of processes; read chatops://runbooks/{name} for one in full, "
        "with whether you may propose it.",
        mime_type="application/json",
    )
    def runbook_index() -> dict[str, Any]:
        rbs = sorted(gate.changes.runbooks.values(), key=lambda rb: rb.name)
        return {"runbooks": [{"name": rb.name, "kind": rb.kind, "title": rb.title} for rb in rbs]}

    @server.resource(
        "chatops://runbooks/{name}",
        description="One process: parameters, steps, approvals, and whether you may propose it.",
        mime_type="application/json",
    )
    def runbook_resource(name: str, ctx: Context) -> dict[str, Any]:
        def work(c: Caller) -> Any:
            found = [i for i in gate.runbooks(c) if i.runbook.name == name]
            if not found:
                raise NotFound(f"no runbook {name!r}")
            return views.runbook_json(found[0])

        return _resource(lambda: call(ctx, "runbooks", work, name))

    @server.resource(
        "chatops://services",
        description="The index of services; chatops://services/{name} for one.",
        mime_type="application/json",
    )
    def service_index() -> dict[str, Any]:
        return {"services": sorted(gate.config.services)}

    @server.resource(
        "chatops://services/{name}",
        description="One service: its environments and hosts (read service_status for its state).",
        mime_type="application/json",
    )
    def service_resource(name: str, ctx: Context) -> dict[str, Any]:
        def work(c: Caller) -> Any:
            if name not in gate.services(c):
                raise NotFound(f"no service {name!r} in your scope")
            svc = gate.config.services[name]
            return {
                "name": name,
                "manager": svc.manager.type,
                "environments": {
                    env: [h.name for h in e.hosts] for env, e in svc.environments.items()
                },
                "logs": svc.logs is not None,
                "health_check": svc.health is not None,
            }

        return _resource(lambda: call(ctx, "services", work, name))


def _resource(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return read()
    except ToolError as e:
        raise ResourceError(str(e)) from None
