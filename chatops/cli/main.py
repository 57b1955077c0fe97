"""`chatops`: a change process for servers, driven from Slack or from here.

Start with `chatops init` (a demo service on this machine), then `chatops check`,
`chatops plan deploy demo ref=v2 --as alice`, `chatops runs`, or `chatops console`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from chatops.cli.exits import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE
from chatops.engine.domain.run import RunState
from chatops.errors import (
    ChatopsError,
    ConfigError,
    ParameterError,
    PermissionDenied,
    PolicyRefused,
    TaskFormatError,
)

READING = ("cmd_runs", "cmd_show", "cmd_audit", "cmd_check", "cmd_agent_list", "cmd_report")


def _lazy(name: str) -> Callable[[argparse.Namespace], int]:
    """A handler imported when it runs: `chatops --help` and the read-only commands do not
    pay for SQLAlchemy, bolt or Fabric."""

    def call(args: argparse.Namespace) -> int:
        from chatops.cli.reading import precheck, where

        if getattr(args, "as_user", None) is not None:
            from chatops.cli.people import check_user

            check_user(args, name, where(args, "config"))
        precheck(name, args)
        if name in READING:
            from chatops.cli import reading as module
        elif name == "cmd_mcp":
            from chatops.cli import mcp_stdio as module  # type: ignore[no-redef]
        elif name in ("cmd_logs", "cmd_status", "cmd_postmortem"):
            from chatops.cli import oncall as module  # type: ignore[no-redef]
        elif name in ("cmd_edit", "cmd_approve", "cmd_reject"):
            from chatops.cli import deciding as module  # type: ignore[no-redef]
        elif name in ("cmd_freeze", "cmd_unfreeze", "cmd_freezes"):
            from chatops.cli import freezing as module  # type: ignore[no-redef]
        elif name == "cmd_worker":
            from chatops.cli import working as module  # type: ignore[no-redef]
        elif name == "cmd_standin":
            from chatops.cli import standin as module  # type: ignore[no-redef]
        else:
            from chatops.cli import handlers as module  # type: ignore[no-redef]
        args.cli_main = main  # the demo runs CLI commands: handed in, not imported back
        return int(getattr(module, name)(args))

    return call


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatops", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config file (default: $CHATOPS_CONFIG or ./chatops.yml)")
    common.add_argument(
        "--commands", help="runbook folder (default: $CHATOPS_COMMANDS or ./commands)"
    )
    common.add_argument("--database-url", help="SQLAlchemy URL (default: $CHATOPS_DATABASE_URL)")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("check", parents=[common], help="validate config and runbooks")
    s.add_argument("--connect", action="store_true", help="also open every host (strict host keys)")
    s.set_defaults(func=_lazy("cmd_check"))

    def here_flag(s: argparse.ArgumentParser) -> None:
        s.add_argument(
            "--here",
            action="store_true",
            help="this terminal is the worker: run it in the foreground (Ctrl-C leaves it "
            "interrupted, resumable); without it a worker (serve, `chatops worker`) runs it",
        )

    def planning(s: argparse.ArgumentParser) -> None:
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

    s = sub.add_parser("plan", parents=[common], help="render a plan and its policy verdict")
    planning(s)
    s.add_argument("--json", action="store_true", help="print the plan as a task (seed format)")
    s.add_argument("--long", action="store_true", help="with --json: the long task format")
    s.set_defaults(func=_lazy("cmd_plan"))

    s = sub.add_parser(
        "run", parents=[common], help="request, approve and run (break-glass, trying)"
    )
    planning(s)
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
    s.set_defaults(func=_lazy("cmd_run"))

    s = sub.add_parser(
        "edit",
        parents=[common],
        help="change a plan not yet started, or answer its planning questions (requester)",
    )
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
    s.set_defaults(func=_lazy("cmd_edit"))

    s = sub.add_parser(
        "approve", parents=[common], help="approve the plan a run awaits (like its button)"
    )
    s.add_argument("run_id", type=int, metavar="RUN", help="the run to approve")
    s.add_argument("--as", dest="as_user", required=True, help="who approves (a lead)")
    s.add_argument(
        "--plan", metavar="HASH", help="the plan hash you read (refused if it changed since)"
    )
    s.add_argument(
        "--manual-done",
        action="store_true",
        help="with --here: mark manual steps done as --as (audited)",
    )
    s.add_argument("--stream", action="store_true", help="print command output as it arrives")
    here_flag(s)
    s.set_defaults(func=_lazy("cmd_approve"))

    s = sub.add_parser("reject", parents=[common], help="reject the plan a run awaits")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run to reject")
    s.add_argument("--reason", required=True, help="why (it goes to the audit trail)")
    s.add_argument("--as", dest="as_user", required=True, help="an approver or the requester")
    s.set_defaults(func=_lazy("cmd_reject"))

    s = sub.add_parser("done", parents=[common], help="mark a manual step done and continue")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run that waits on the step")
    s.add_argument("step", metavar="STEP", help="the step's id, as `chatops show RUN` lists it")
    s.add_argument("--as", dest="as_user", required=True, help="who did it (its role's member)")
    here_flag(s)
    s.set_defaults(func=_lazy("cmd_done"))

    s = sub.add_parser(
        "report",
        parents=[common],
        help="the team's delivery numbers: deployment frequency, lead time, change failure "
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
    s.set_defaults(func=_lazy("cmd_report"))

    s = sub.add_parser("runs", parents=[common], help="list runs")
    s.add_argument("--limit", type=int, default=20, help="at most this many, newest first (20)")
    s.add_argument(
        "--state",
        action="append",
        choices=[x.value for x in RunState],
        metavar="STATE",
        help="only runs in this state (repeat for several): "
        + ", ".join(x.value for x in RunState),
    )
    s.set_defaults(func=_lazy("cmd_runs"))

    s = sub.add_parser("show", parents=[common], help="a run: its plan, steps and output tails")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run's number (`chatops runs`)")
    s.add_argument(
        "--link",
        action="store_true",
        help="print a personal link to the run's web page instead (needs --as)",
    )
    s.add_argument("--as", dest="as_user", metavar="USER", help="whom the link is for")
    s.set_defaults(func=_lazy("cmd_show"))

    s = sub.add_parser(
        "audit",
        parents=[common],
        help="the audit trail: a run's (or the latest), `verify` the chain, `export` it",
    )
    s.add_argument("target", nargs="?", help="a run id, `verify` or `export` (default: latest)")
    s.add_argument("--limit", type=int, default=50, help="the latest run's rows: at most (50)")
    s.add_argument("--anchors", help="verify: the anchor file (default: audit.anchor_file)")
    s.add_argument("--since", help="export: from this date or time (ISO 8601)")
    s.add_argument("--run", type=int, help="export: one run's rows")
    s.add_argument("--format", choices=["jsonl"], default="jsonl", help="export format")
    s.set_defaults(func=_lazy("cmd_audit"))

    for name, func, text in (
        ("resume", "cmd_resume", "queue an interrupted run again (lead)"),
        ("rollback", "cmd_rollback", "roll an interrupted run back instead (lead)"),
        ("cancel", "cmd_cancel", "cancel a run (requester or lead)"),
    ):
        s = sub.add_parser(name, parents=[common], help=text)
        s.add_argument("run_id", type=int, metavar="RUN", help="the run's number")
        s.add_argument("--as", dest="as_user", required=True, help="who does it (audited)")
        if name != "cancel":
            here_flag(s)
        s.set_defaults(func=_lazy(func))

    s = sub.add_parser("db", parents=[common], help="database maintenance: `chatops db upgrade`")
    dsub = s.add_subparsers(dest="db_cmd", required=True, metavar="upgrade")
    u = dsub.add_parser("upgrade", parents=[common], help="apply the Alembic migrations")
    u.set_defaults(func=_lazy("cmd_db"))

    s = sub.add_parser(
        "logs",
        parents=[common],
        help="read a service's logs (like /logs)",
        usage="chatops logs SERVICE [lines=N] [since=1h] [grep=TEXT] [host=H] --as USER",
    )
    s.add_argument(
        "words",
        nargs="+",
        metavar="SERVICE",
        help="the service, then key=value: lines=N since=1h grep=TEXT host=H stream=err",
    )
    s.add_argument("--as", dest="as_user", required=True, help="who reads (a Slack user id)")
    s.set_defaults(func=_lazy("cmd_logs"))

    s = sub.add_parser("status", parents=[common], help="a service's state (like /status)")
    s.add_argument("service", metavar="SERVICE", help="a service of chatops.yml")
    s.add_argument("environment", nargs="?", metavar="ENV", help="default: production")
    s.add_argument("--as", dest="as_user", default="cli", help="who asks (audited)")
    s.set_defaults(func=_lazy("cmd_status"))

    s = sub.add_parser("postmortem", parents=[common], help="a hotfix's post-mortem")
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
    s.set_defaults(func=_lazy("cmd_postmortem"))

    s = sub.add_parser(
        "serve",
        parents=[common],
        help="run the Slack bot (with --http also /api/v1 and /mcp for agents)",
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
    s.set_defaults(func=_lazy("cmd_serve"))

    s = sub.add_parser(
        "worker",
        parents=[common],
        help="execute runs and the scheduler's work (no Slack): the unit of scale",
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
    s.set_defaults(func=_lazy("cmd_worker"))

    s = sub.add_parser(
        "console",
        parents=[common],
        help="chat with the real bot in the terminal (no Slack account needed)",
    )
    s.add_argument(
        "--dir",
        default="demo-data/console",
        help="scratch folder for the demo (default: ./demo-data/console)",
    )
    s.set_defaults(func=_lazy("cmd_console"))

    s = sub.add_parser(
        "init", help="write ./chatops.yml for a demo service on this machine (to try every command)"
    )
    s.add_argument("--dir", default="demo-data/app", help="its files (default: ./demo-data/app)")
    s.add_argument(
        "--force", action="store_true", help="replace a chatops.yml that is not the demo's"
    )
    s.set_defaults(func=_lazy("cmd_init"))

    s = sub.add_parser(
        "standin",
        help="a stand-in for Slack's Web API on loopback, to try `chatops serve` without Slack",
    )
    s.add_argument("--port", type=int, default=3001, help="its port (default 3001)")
    how = s.add_mutually_exclusive_group()
    how.add_argument(
        "--background", action="store_true", help="leave it running (.chatops/standin.pid)"
    )
    how.add_argument("--stop", action="store_true", help="stop the one left running")
    s.set_defaults(func=_lazy("cmd_standin"))

    s = sub.add_parser("demo", help="a tour on the demo service: no Slack, no servers needed")
    s.add_argument("--dir", default="demo-data/app", help="its files (default: ./demo-data/app)")
    s.add_argument("--stop", action="store_true", help="stop the demo app and leave")
    s.set_defaults(func=_lazy("cmd_demo"))

    s = sub.add_parser("agent", parents=[common], help="AI agents: add, list, revoke")
    asub = s.add_subparsers(dest="agent_cmd", required=True)
    a = asub.add_parser("add", parents=[common], help="a new agent; prints its token once")
    a.add_argument("name", help="e.g. architect-agent")
    a.add_argument(
        "--role", required=True, choices=["architect", "coder"], help="what the seed lets it do"
    )
    a.add_argument("--services", default="", help="comma-separated (default: all)")
    a.add_argument("--processes", default="", help="comma-separated (default: all its role may)")
    a.add_argument("--expires", help="a duration like 30d or 12h (default: never)")
    a.add_argument(
        "--for",
        dest="acts_for",
        default="",
        metavar="USERS",
        help="the people (Slack user ids, comma-separated) it may act for with on_behalf_of "
        "(default: nobody); each is told by DM when it does",
    )
    a.add_argument("--as", dest="as_user", required=True, help="who adds it (a lead)")
    a.set_defaults(func=_lazy("cmd_agent_add"))
    a = asub.add_parser("list", parents=[common], help="every agent, its scope and state")
    a.set_defaults(func=_lazy("cmd_agent_list"))
    a = asub.add_parser("revoke", parents=[common], help="stop an agent's token at once")
    a.add_argument("name", help="the agent's name (`chatops agent list`)")
    a.add_argument("--as", dest="as_user", required=True, help="who revokes it (a lead)")
    a.set_defaults(func=_lazy("cmd_agent_revoke"))

    s = sub.add_parser("freeze", parents=[common], help="stop changes (only hotfix) for a while")
    s.add_argument("target", metavar="SERVICE|all", help="one service, or all of them")
    s.add_argument("--for", dest="duration", required=True, help="a duration like 2h or 1d")
    s.add_argument("--reason", required=True, help="why: shown to whoever is refused")
    s.add_argument("--as", dest="as_user", required=True, help="who declares it (a lead)")
    s.set_defaults(func=_lazy("cmd_freeze"))
    s = sub.add_parser("unfreeze", parents=[common], help="lift a freeze declared with freeze")
    s.add_argument("target", metavar="SERVICE|all", help="the service, or all")
    s.add_argument("--as", dest="as_user", required=True, help="who lifts it (a lead)")
    s.set_defaults(func=_lazy("cmd_unfreeze"))
    s = sub.add_parser("freezes", parents=[common], help="the change freezes in force")
    s.set_defaults(func=_lazy("cmd_freezes"))

    s = sub.add_parser(
        "mcp",
        parents=[common],
        help="the MCP server over stdio for an AI agent (token in $CHATOPS_AGENT_TOKEN)",
    )
    s.set_defaults(func=_lazy("cmd_mcp"))

    s = sub.add_parser(
        "recover", parents=[common], help="mark runs of dead processes interrupted (serve does it)"
    )
    s.set_defaults(func=_lazy("cmd_recover"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "process", "x") is None and not getattr(args, "import_file", None):
        parser().error("name a process (deploy, migration, ...) or give --import FILE")
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away (| head) is met here, not at exit
        return code
    except BrokenPipeError:  # as Unix tools do: quiet, 128 + SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except ConfigError as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (ParameterError, TaskFormatError) as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (PermissionDenied, PolicyRefused) as e:
        print(f"chatops: refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except ChatopsError as e:
        print(f"chatops: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the database or Slack: one line, not a traceback
        from chatops.cli.failures import EXIT_UNAVAILABLE, explain
        from chatops.cli.reading import where

        line = explain(e, where(args, "database_url"))
        if line is None:
            raise
        print(f"chatops: {line}", file=sys.stderr)
        return EXIT_UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
