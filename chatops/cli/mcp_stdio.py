"""`chatops mcp`: the MCP server over stdio, for an agent (Claude Code, Gemini CLI) started
on a machine that reaches chatops's database. The token comes from CHATOPS_AGENT_TOKEN,
never from the command line (it would show in `ps`). Stdout carries the protocol alone:
logs go to stderr.

A run that goes on after the agent reported a step done continues on this process's
threads; the process waits for them before it exits.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chatops.cli.exits import EXIT_REFUSED, EXIT_USAGE
from chatops.errors import NotAuthenticated

TOKEN_ENV = "CHATOPS_AGENT_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def cmd_mcp(args: argparse.Namespace) -> int:
    from chatops.api.mcp import build_server
    from chatops.bootstrap import wire
    from chatops.cli.handlers import _settings

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"chatops mcp: set {TOKEN_ENV} to the agent's token", file=sys.stderr)
        return EXIT_USAGE
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatops-run")

    def start(work: Callable[[], object]) -> object:
        return pool.submit(work)

    w = wire(_settings(args), start=start, follow_postmortems=False)
    try:
        agent = w.agents.authenticate(token)
    except NotAuthenticated as e:
        print(f"chatops mcp: refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"chatops mcp: serving {agent.name} ({agent.role}) over stdio", file=sys.stderr)
    server = build_server(w.gate, w.redactor, lambda _ctx: token)
    try:
        server.run("stdio")
    finally:
        pool.shutdown(wait=True)
        w.close()
    return 0
