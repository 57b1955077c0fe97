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
from pathlib import Path

from chatops.cli.commands.exits import EXIT_REFUSED, EXIT_USAGE
from chatops.errors import NotAuthenticated

TOKEN_ENV = "CHATOPS_AGENT_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def looked_in(url: str) -> str:
    """The database a URL names, for people: a SQLite file's absolute path, else the URL
    without its password."""
    from chatops.cli.commands.failures import safe_url

    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return str(Path(url.removeprefix("sqlite:///")).expanduser().resolve())
    return safe_url(url)


def missing_sqlite(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (opening it would create it)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    path = Path(url.removeprefix("sqlite:///")).expanduser().resolve()
    return None if path.exists() else str(path)


def cmd_mcp(args: argparse.Namespace) -> int:
    from chatops.api.mcp import build_server
    from chatops.bootstrap import build
    from chatops.cli.commands.handlers import _settings

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"chatops mcp: set {TOKEN_ENV} to the agent's token", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    where = looked_in(settings.database_url)
    missing = missing_sqlite(settings.database_url)
    if missing is not None:  # never a new, empty database that knows no agent
        print(
            f"chatops mcp: no chatops database at {missing}: name the one `chatops serve` uses "
            "in CHATOPS_DATABASE_URL (and CHATOPS_CONFIG), in the agent's MCP settings",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # an agent's process: it records decisions, the workers (serve, `chatops worker`) run
    # them; the agent may close it at any moment and no run is touched
    built = build(settings, follow_postmortems=False).start()
    w = built.wired
    try:
        agent = w.agents.authenticate(token)
    except NotAuthenticated as e:
        print(
            f"chatops mcp: refused: {e} (looked in the database at {where}: is it the one "
            "`chatops serve` uses?)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    print(
        f"chatops mcp: serving {agent.name} ({agent.role}) over stdio; database {where}, "
        f"config {settings.config.resolve()}",
        file=sys.stderr,
    )
    public = settings.public_url or "http://127.0.0.1:3000"  # where people reach serve
    server = build_server(w.gate, w.redactor, lambda _ctx: token, public)
    try:
        server.run("stdio")
    finally:
        built.stop()
    return 0
