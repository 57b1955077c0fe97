"""Reading what happened: `runs`, `show`, `audit`, `report` (they change nothing)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command
from chatops.engine.domain.run import RunState


def register(p: Parsers) -> None:
    s = p.add(
        "report",
        "the team's delivery numbers: deployment frequency, lead time, change failure "
        "rate, time to restore, time to approve",
    )
    s.add_argument("--since", default="30d", help="how far back, e.g. 30d, 12h (default 30d)")
    s.add_argument("--service", help="only this service's changes")
    s.add_argument("--json", action="store_true", help="the numbers as JSON")
    s.add_argument(
        "--link",
        action="store_true",
        help="print a personal link to the insights page (charts) instead (needs --as)",
    )
    s.add_argument("--as", dest="as_user", metavar="USER", help="whom the link is for")
    s.set_defaults(func=command(_report))

    s = p.add("runs", "list runs")
    s.add_argument("--limit", type=int, default=20, help="at most this many, newest first (20)")
    s.add_argument(
        "--state",
        action="append",
        choices=[x.value for x in RunState],
        metavar="STATE",
        help="only runs in this state (repeat for several): "
        + ", ".join(x.value for x in RunState),
    )
    s.set_defaults(func=command(_runs))

    s = p.add("show", "a run: its plan, steps and output tails")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run's number (`chatops runs`)")
    s.add_argument(
        "--link",
        action="store_true",
        help="print a personal link to the run's web page instead (needs --as)",
    )
    s.add_argument("--as", dest="as_user", metavar="USER", help="whom the link is for")
    s.set_defaults(func=command(_show))

    s = p.add("audit", "the audit trail: a run's (or the latest), `verify` the chain, `export` it")
    s.add_argument("target", nargs="?", help="a run id, `verify` or `export` (default: latest)")
    s.add_argument("--limit", type=int, default=50, help="the latest run's rows: at most (50)")
    s.add_argument("--anchors", help="verify: the anchor file (default: audit.anchor_file)")
    s.add_argument("--since", help="export: from this date or time (ISO 8601)")
    s.add_argument("--run", type=int, help="export: one run's rows")
    s.add_argument("--format", choices=["jsonl"], default="jsonl", help="export format")
    s.set_defaults(func=command(_audit))


def _report(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_report

    return cmd_report(args)


def _runs(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_runs

    return cmd_runs(args)


def _show(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_show

    return cmd_show(args)


def _audit(args: argparse.Namespace) -> int:
    from chatops.cli.commands.reading import cmd_audit

    return cmd_audit(args)
