"""Setting up and trying: `check`, `db upgrade`, `init`, `demo`, `console`, `standin`."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command


def register(p: Parsers) -> None:
    s = p.add("check", "validate config and runbooks")
    s.add_argument("--connect", action="store_true", help="also open every host (strict host keys)")
    s.set_defaults(func=command(_check))

    s = p.add("db", "database maintenance: `chatops db upgrade`")
    dsub = s.add_subparsers(dest="db_cmd", required=True, metavar="upgrade")
    u = dsub.add_parser("upgrade", parents=[p.common], help="apply the Alembic migrations")
    u.set_defaults(func=command(_db))

    s = p.add("console", "chat with the real bot in the terminal (no Slack account needed)")
    s.add_argument(
        "--dir",
        default="demo-data/console",
        help="scratch folder for the demo (default: ./demo-data/console)",
    )
    s.set_defaults(func=command(_console))

    s = p.add(
        "init",
        "write ./chatops.yml for a demo service on this machine (to try every command)",
        store=False,
    )
    s.add_argument("--dir", default="demo-data/app", help="its files (default: ./demo-data/app)")
    s.add_argument(
        "--force", action="store_true", help="replace a chatops.yml that is not the demo's"
    )
    s.set_defaults(func=command(_init))

    s = p.add(
        "standin",
        "a stand-in for Slack's Web API on loopback, to try `chatops serve` without Slack",
        store=False,
    )
    s.add_argument("--port", type=int, default=3001, help="its port (default 3001)")
    how = s.add_mutually_exclusive_group()
    how.add_argument(
        "--background", action="store_true", help="leave it running (.chatops/standin.pid)"
    )
    how.add_argument("--stop", action="store_true", help="stop the one left running")
    s.set_defaults(func=command(_standin))

    s = p.add("demo", "a tour on the demo service: no Slack, no servers needed", store=False)
    s.add_argument("--dir", default="demo-data/app", help="its files (default: ./demo-data/app)")
    s.add_argument("--stop", action="store_true", help="stop the demo app and leave")
    s.set_defaults(func=command(_demo))


def _check(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_check

    return cmd_check(args)


def _db(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_db

    return cmd_db(args)


def _console(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_console

    return cmd_console(args)


def _init(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_init

    return cmd_init(args)


def _standin(args: argparse.Namespace) -> int:
    from chatops.cli.commands.standin import cmd_standin

    return cmd_standin(args)


def _demo(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_demo

    return cmd_demo(args)
