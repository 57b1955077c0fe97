"""The reading commands: `runs`, `show`, `audit`, `check`. They start fast (no SQLAlchemy,
Alembic, bolt or Fabric unless `check --connect` opens hosts) and change nothing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from chatops.engine.runs.run import RunState
from chatops.errors import ParameterError

if TYPE_CHECKING:
    from chatops.store.reader import Reader

DEFAULTS = {"config": "chatops.yml", "commands": "commands", "database_url": "sqlite:///chatops.db"}


def where(args: argparse.Namespace, name: str) -> str:
    """An option, else its CHATOPS_* variable, else the default (as Settings reads them)."""
    given = getattr(args, name, None)
    return str(given or os.environ.get(f"CHATOPS_{name.upper()}") or DEFAULTS[name])


def _reader(args: argparse.Namespace) -> Reader:
    from chatops.store.reader import Reader

    return Reader(where(args, "database_url"))


def cmd_runs(args: argparse.Namespace) -> int:
    from chatops.cli import render

    reader = _reader(args)
    states = [RunState(s) for s in args.state] if args.state else []
    runs = reader.list_runs(limit=args.limit, states=states)
    print(render.runs_table(runs) if runs else "no runs yet")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from chatops.cli import render
    from chatops.engine.planning.plan import Plan
    from chatops.engine.planning.policy import evaluate

    reader = _reader(args)
    run = reader.get_run(args.run_id)
    plan = Plan.model_validate_json(reader.plan_body(run.task_id))
    print(render.plan_text(plan, evaluate(plan), run))
    if run.error:
        print(f"  error: {run.error}")
    print(render.steps_text(reader.steps(run.id)))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from chatops.cli import render

    if args.target == "verify":
        from chatops.cli.audit_chain import verify

        return verify(_reader(args), args.anchors, where(args, "config"))
    if args.target == "export":
        from chatops.cli.audit_chain import export

        return export(_reader(args), args.since, args.run)
    if args.target is not None and not args.target.isdigit():
        raise ParameterError(f"{args.target!r}: give a run id, `verify` or `export`")
    reader = _reader(args)
    run_id = int(args.target) if args.target is not None else None
    events = reader.for_run(run_id) if run_id is not None else reader.recent(args.limit)
    print(render.audit_text(events) if events else "no audit events yet")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from chatops.cli.check import check

    return check(
        Path(where(args, "config")),
        Path(where(args, "commands")),
        args.connect,
        where(args, "database_url"),
    )
