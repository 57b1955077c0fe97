"""The long-running processes: `serve` (the Slack bot, the agents' API), `worker` (the
unit of scale), `mcp` (an agent's stdio server), and `recover` (what serve does at start)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command


def register(p: Parsers) -> None:
    s = p.add(
        "serve",
        "run the Slack bot (with --http also /api/v1 and /mcp for agents)",
        description="Run the Slack bot. In HTTP mode it also serves the agents' HTTP API at "
        "/api/v1 (OpenAPI at /api/v1/openapi.json) and the MCP server at /mcp, with /healthz "
        "and /metrics in either mode.",
    )
    s.add_argument(
        "--http", action="store_true", help="serve HTTP (POST /slack/events, GET /healthz)"
    )
    s.add_argument(
        "--mode",
        choices=["socket", "http", "auto"],
        help="socket (the default), http (as --http), or auto: socket when SLACK_APP_TOKEN is "
        "set, http otherwise (the container's default)",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    s.set_defaults(func=command(_serve))

    s = p.add(
        "worker",
        "execute runs and the scheduler's work (no Slack): the unit of scale",
        description="Execute approved runs (and the post-mortem reminders): claims them from "
        "the shared database, beats so that others know it lives, takes over the runs of "
        "workers that died. Run several, on several machines, on one PostgreSQL.",
    )
    s.add_argument(
        "--site",
        help="only the runs of hosts of this site (`site:` in the inventory), for hosts "
        "behind a network boundary",
    )
    s.add_argument("--threads", type=int, default=8, help="runs at once (default 8)")
    s.add_argument(
        "--port", type=int, help="serve GET /healthz and /metrics on this port (default: none)"
    )
    s.set_defaults(func=command(_worker))

    s = p.add("mcp", "the MCP server over stdio for an AI agent (token in $CHATOPS_AGENT_TOKEN)")
    s.set_defaults(func=command(_mcp))

    s = p.add("recover", "mark runs of dead processes interrupted (serve does it)")
    s.set_defaults(func=command(_recover))


def _serve(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_serve

    return cmd_serve(args)


def _worker(args: argparse.Namespace) -> int:
    from chatops.cli.commands.working import cmd_worker

    return cmd_worker(args)


def _mcp(args: argparse.Namespace) -> int:
    from chatops.cli.commands.mcp_stdio import cmd_mcp

    return cmd_mcp(args)


def _recover(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_recover

    return cmd_recover(args)
