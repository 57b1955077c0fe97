"""On call: `logs` and `status` (as /logs and /status), `postmortem` (a hotfix's)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Parsers, command


def register(p: Parsers) -> None:
    s = p.add(
        "logs",
        "read a service's logs (like /logs)",
        usage="chatops logs SERVICE [lines=N] [since=1h] [grep=TEXT] [host=H] --as USER",
    )
    s.add_argument(
        "words",
        nargs="+",
        metavar="SERVICE",
        help="the service, then key=value: lines=N since=1h grep=TEXT host=H stream=err",
    )
    s.add_argument("--as", dest="as_user", required=True, help="who reads (a Slack user id)")
    s.set_defaults(func=command(_logs, check=_service_of_logs))

    s = p.add("status", "a service's state (like /status)")
    s.add_argument("service", metavar="SERVICE", help="a service of chatops.yml")
    s.add_argument("environment", nargs="?", metavar="ENV", help="default: production")
    s.add_argument("--as", dest="as_user", default="cli", help="who asks (audited)")
    s.set_defaults(func=command(_status, check=_service_of_status))

    s = p.add("postmortem", "a hotfix's post-mortem")
    s.add_argument("run_id", type=int, nargs="?", help="the hotfix run (default: the latest)")
    s.add_argument("--markdown", action="store_true", help="export it as Markdown")
    s.add_argument(
        "--write", action="store_true", help="write it (an owner or a lead), as the Slack form"
    )
    s.add_argument("--as", dest="as_user", help="with --write: who writes it")
    s.add_argument("--why", help="with --write: why did the problem happen?")
    s.add_argument("--prevent", help="with --write: how could it have been prevented?")
    s.add_argument(
        "--process", dest="pm_process", help="with --write: what must change in the process?"
    )
    s.add_argument("--docs", help="with --write: which documentation was updated?")
    s.add_argument(
        "--timeline", metavar="FILE", help="with --write: the timeline (default: the audit's)"
    )
    s.set_defaults(func=command(_postmortem, check=_postmortem_known))


def _service_of_logs(args: argparse.Namespace) -> None:
    from chatops.cli.commands.reading import service_known

    service_known(args.words[0], args)


def _service_of_status(args: argparse.Namespace) -> None:
    from chatops.cli.commands.reading import service_known

    service_known(args.service, args)


def _postmortem_known(args: argparse.Namespace) -> None:
    from chatops.cli.commands.reading import postmortem_known

    postmortem_known(args)


def _logs(args: argparse.Namespace) -> int:
    from chatops.cli.commands.oncall import cmd_logs

    return cmd_logs(args)


def _status(args: argparse.Namespace) -> int:
    from chatops.cli.commands.oncall import cmd_status

    return cmd_status(args)


def _postmortem(args: argparse.Namespace) -> int:
    from chatops.cli.commands.oncall import cmd_postmortem

    return cmd_postmortem(args)
