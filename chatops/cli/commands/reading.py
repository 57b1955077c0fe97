"""The reading commands: `runs`, `show`, `audit`, `check`, `agent list`. They start fast
(no SQLAlchemy, Alembic, bolt or Fabric unless `check --connect` opens hosts) and change
nothing. `service_known` and `postmortem_known` refuse a typo in the other commands as
fast, before the engine is built for them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from chatops.engine.domain.run import RunState
from chatops.engine.runs.history import course
from chatops.errors import ConfigError, ParameterError

if TYPE_CHECKING:
    from chatops.store.reader import Reader

DEFAULTS = {"config": "chatops.yml", "commands": "commands", "database_url": "sqlite:///chatops.db"}


def where(args: argparse.Namespace, name: str) -> str:
    """An option, else its CHATOPS_* variable, else the default (as Settings reads them)."""
    given = getattr(args, name, None)
    return str(given or os.environ.get(f"CHATOPS_{name.upper()}") or DEFAULTS[name])


def _reader(args: argparse.Namespace) -> Reader:
    """The database to read, as it is: a reading command never invents one (a mistyped
    path would look like an empty database)."""
    from chatops.cli.commands.failures import safe_url
    from chatops.store.reader import Reader

    url = where(args, "database_url")
    reader = Reader(url)
    if not reader.exists:
        raise ConfigError(
            safe_url(url),
            [
                "no database here: nothing was ever written to it. Is it the one `chatops "
                "serve` uses (CHATOPS_DATABASE_URL, --database-url)? `chatops check` says "
                "which one is in use"
            ],
        )
    return reader


def cmd_runs(args: argparse.Namespace) -> int:
    from chatops.cli.commands import render

    reader = _reader(args)
    states = [RunState(s) for s in args.state] if args.state else []
    runs = reader.list_runs(limit=args.limit, states=states)
    if runs:
        print(render.runs_table(runs))
    elif states and reader.list_runs(limit=1):
        print(f"no runs are {' or '.join(s.value for s in states)} (`chatops runs` lists all)")
    else:
        print("no runs yet")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from chatops.cli.commands import render
    from chatops.engine.planning.plan import Plan
    from chatops.engine.planning.policy import evaluate

    if getattr(args, "link", False):
        from chatops.cli.commands.handlers import cmd_link

        return cmd_link(args)
    reader = _reader(args)
    run = reader.get_run(args.run_id)
    plan = Plan.model_validate_json(reader.plan_body(run.task_id))
    print(render.plan_text(plan, evaluate(plan), run))
    if run.error:
        print(f"  error: {run.error}")
    went = course(run, reader.for_run(run.id))
    if went:
        print(f"  course: {went}")
    print(render.steps_text(reader.steps(run.id)))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from chatops.cli.commands import render

    if args.target == "verify":
        from chatops.cli.commands.audit_chain import verify

        return verify(_reader(args), args.anchors, where(args, "config"))
    if args.target == "export":
        from chatops.cli.commands.audit_chain import export

        return export(_reader(args), args.since, args.run)
    if args.target is not None and not args.target.isdigit():
        raise ParameterError(f"{args.target!r}: give a run id, `verify` or `export`")
    reader = _reader(args)
    run_id = int(args.target) if args.target is not None else None
    events = reader.for_run(run_id) if run_id is not None else reader.recent(args.limit)
    print(render.audit_text(events) if events else "no audit events yet")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from chatops.cli.commands.check import check

    return check(
        Path(where(args, "config")),
        Path(where(args, "commands")),
        args.connect,
        where(args, "database_url"),
    )


def cmd_agent_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    agents = _reader(args).agents()  # read only: no engine built
    if not agents:
        print("no agents; add one with: chatops agent add NAME --role architect --as LEAD")
        return 0
    rows = [("NAME", "ROLE", "STATE", "EXPIRES", "SERVICES", "PROCESSES", "ACTS FOR")]
    for a in agents:
        rows.append(
            (
                a.name,
                a.role,
                a.state(now),
                a.expires_at.strftime("%Y-%m-%d %H:%M") if a.expires_at else "never",
                ",".join(a.services) or "all",
                ",".join(a.processes) or "all its role may",
                ",".join(a.acts_for) or "nobody",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def service_known(service: str, args: argparse.Namespace) -> None:
    """A service that does not exist is refused before the engine is built (a second or
    more): `status` and `logs` name one."""
    from chatops.adapters.config_files import load_config_or_empty
    from chatops.errors import UnknownName

    services = load_config_or_empty(Path(where(args, "config"))).services
    if service not in services:
        raise UnknownName(
            f"unknown service {service!r}; known services: {', '.join(sorted(services))}"
        )


def postmortem_known(args: argparse.Namespace) -> None:
    """`postmortem RUN` of a run that has none is refused before the engine is built."""
    from chatops.errors import NotFound

    if args.run_id is not None and not _reader(args).has_postmortem(args.run_id):
        raise NotFound(f"run {args.run_id} has no post-mortem (only a hotfix has one)")


def cmd_report(args: argparse.Namespace) -> int:
    """`chatops report`: the delivery numbers of the changes asked in the window."""
    import json
    from datetime import UTC, datetime

    from chatops.engine.planning.durations import parse_duration
    from chatops.engine.runs.insights import delivery

    if getattr(args, "link", False):
        from chatops.cli.commands.handlers import cmd_link

        return cmd_link(args)

    try:
        back = parse_duration(args.since)
    except ValueError as e:
        raise ParameterError(f"--since {args.since!r}: {e}") from None
    reader = _reader(args)
    until = datetime.now(UTC)
    since = until - back
    got = delivery(reader, since, until, args.service)
    if args.json:
        print(json.dumps(got, indent=2))
        return 0
    print(_report_text(got, args.since, args.service))
    return 0


def _report_text(got: dict[str, object], since: str, service: str | None) -> str:
    """A table: the whole, then each service, process and kind of requester, names whole."""
    from chatops.engine.planning.durations import spoken

    head = ["", "deploys", "per day", "lead p50", "failures", "restore p50"]
    head += ["approve p50", "approve p90", "people p50"]

    def row(name: str, n: dict[str, object]) -> list[str]:
        df = n["deployment_frequency"]
        cfr = n["change_failure_rate"]
        lt, ttr, tta = n["lead_time"], n["time_to_restore"], n["time_to_approve"]
        people = n["time_waiting_on_people"]
        assert isinstance(df, dict) and isinstance(cfr, dict) and isinstance(people, dict)
        assert isinstance(lt, dict) and isinstance(ttr, dict) and isinstance(tta, dict)
        rate = "-" if cfr["rate"] is None else f"{cfr['rate']:.0%} ({cfr['failed']}/{cfr['total']})"
        per_day = "-" if df["per_day"] is None else f"{df['per_day']:g}"
        return [
            name,
            str(df["count"]),
            per_day,
            spoken(lt["p50_s"]),
            rate,
            spoken(ttr["p50_s"]),
            spoken(tta["p50_s"]),
            spoken(tta["p90_s"]),
            spoken(people["p50_s"]),
        ]

    rows = [head, row("all", got)]
    for group, title in (
        ("by_service", "by service"),
        ("by_process", "by process"),
        ("by_requester_kind", "by kind of requester"),
    ):
        parts = got[group]
        assert isinstance(parts, dict)
        if parts:
            rows.append([title] + [""] * (len(head) - 1))
            rows += [row(f"  {name}", n) for name, n in parts.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    title = f"delivery over the last {since}" + (f" on {service}" if service else "")
    return "\n".join([title, *lines])
