"""A service as on-call sees it: its status (as /status) and its logs (as /logs, under the
same policy)."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from chatops.api import mcp_outputs as out
from chatops.api import views
from chatops.api.http import log_query
from chatops.api.mcp_kit import Kit
from chatops.api.operations import LOGS, STATUS
from chatops.errors import ChatopsError


def register(kit: Kit) -> None:
    gate = kit.gate

    @kit.tool("service_status")
    def service_status(ctx: Context, service: str, environment: str | None = None) -> out.Status:
        return out.Status.model_validate(
            kit.call(
                ctx,
                STATUS.op,
                lambda c: views.status_json(gate.status(c, service, environment)),
                service,
            )
        )

    @kit.tool("read_logs")
    def read_logs(
        ctx: Context,
        service: str,
        lines: int = 200,
        since: str | None = None,
        grep: str | None = None,
        host: str | None = None,
        stream: str = "all",
        environment: str | None = None,
    ) -> out.Logs:
        args = {"lines": str(lines), "stream": stream}
        args |= {k: v for k, v in (("since", since), ("grep", grep), ("host", host)) if v}
        try:
            query = log_query(service, args, gate.config.policies.logs_max_lines)
        except ChatopsError as e:
            raise ToolError(f"400 {e}") from None
        return out.Logs.model_validate(
            kit.call(
                ctx, LOGS.op, lambda c: views.logs_json(gate.logs(c, query, environment)), service
            )
        )
