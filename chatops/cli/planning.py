"""Asking for a change from the terminal: `plan` (a preview), `run` (break-glass: request,
approve and run), `edit` (a plan not yet started)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command, here_flag


def register(p: Parsers) -> None:
    s = p.add("plan", "render a plan and its policy verdict")
    _request(s)
    s.add_argument("--json", action="store_true", help="print the plan as a task (seed format)")
    s.add_argument("--long", action="store_true", help="with --json: the long task format")
    s.set_defaults(func=command(_plan))

    s = p.add("run", "request, approve and run (break-glass, trying)")
    _request(s)
    s.add_argument(
        "--approve-as",
        action="append",
        default=[],
        metavar="USER",
        help="approve as this user (repeat for a quorum)",
    )
    s.add_argument(
        "--manual-done",
        action="store_true",
        help="with --here: mark manual steps done as --as (audited)",
    )
    s.add_argument("--stream", action="store_true", help="print command output as it arrives")
    here_flag(s)
    s.set_defaults(func=command(_run, asks=True))

    s = p.add("edit", "change a plan not yet started, or answer its planning questions (requester)")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run whose plan changes")
    s.add_argument(
        "params", nargs="*", metavar="KEY=VALUE", help="parameters, or answers by question id"
    )
    s.add_argument(
        "--answer", action="append", default=[], metavar="ID=TEXT", help="an answer by question id"
    )
    s.add_argument("--text", help="the request in new words (else it keeps its own)")
    s.add_argument("--why", help="why the plan changes (audited, told in its thread)")
    s.add_argument("--as", dest="as_user", required=True, help="who edits (the requester)")
    s.set_defaults(func=command(_edit))


def _request(s: argparse.ArgumentParser) -> None:
    """What a request is made of: a process and its parameters, or a task file."""
    s.add_argument("process", nargs="?", help="runbook name: deploy, migration, hotfix, ...")
    s.add_argument("params", nargs="*", help="parameters as key=value")
    s.add_argument("--as", dest="as_user", default="cli", help="who asks (a Slack user id)")
    s.add_argument("--text", help="the request in words")
    s.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="ID=TEXT",
        help="answer to a planning question",
    )
    s.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help="task JSON in the seed format ('-' for stdin)",
    )


def _plan(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_plan

    return cmd_plan(args)


def _run(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_run

    return cmd_run(args)


def _edit(args: argparse.Namespace) -> int:
    from chatops.cli.commands.deciding import cmd_edit

    return cmd_edit(args)
