"""Deciding a plan from the terminal, under the same rules and audit as the Slack buttons:
`chatops edit` (the requester changes or answers it), `approve` and `reject`."""

from __future__ import annotations

import argparse

from chatops.cli.commands import render
from chatops.cli.commands.handlers import _answers, _decided, _follow, _stopped, _wire
from chatops.engine.planning.params import parse_assignments
from chatops.engine.runs.commands import Approve, Reject, Revise
from chatops.errors import ParameterError


def cmd_edit(args: argparse.Namespace) -> int:
    """A new version of a plan not yet started: parameters, planning answers, the request."""
    w = _wire(args)
    given = parse_assignments(args.params)
    answers = _answers(args.answer)
    made = w.ops.handle(
        Revise(args.run_id, args.as_user, given, args.text, answers, args.why or "")
    )
    print(render.plan_text(made.plan, made.verdict, made.run))
    print(
        f"run #{made.run.id}: plan {made.plan.short_hash} replaces the earlier version; "
        "approvals given to that one no longer count"
    )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    """Approve the plan a run awaits: the hash shown must be the plan's current one, so a
    plan changed since it was read is never approved by mistake."""
    if args.manual_done and not args.here:
        raise ParameterError("--manual-done drives the run in this terminal: add --here")
    w = _wire(args, stream=args.stream)
    run = w.queries.get_run(args.run_id)
    plan = w.queries.load_plan(run.task_id)
    chosen = plan.sha256
    if args.plan and not plan.sha256.startswith(args.plan.lower()):
        chosen = args.plan  # refused, and audited, as a click on an old plan's button is
    args.approve_as = []
    said: list[str] = []

    def decide() -> None:
        status = w.ops.handle(Approve(run.id, args.as_user, chosen))  # complete: it starts
        if status.complete:
            print(f"run #{run.id}: approved by {', '.join(status.approvers)}")
        else:
            said.append(f"run #{run.id}: approval recorded; still needed: ")
            said[-1] += "; ".join(status.missing)

    try:
        decide()
        if said:
            print(said[0])
            return 0
        return _follow(w, run.id, args) if args.here else _decided(w, run.id, "approved")
    except KeyboardInterrupt:
        return _stopped(w, run.id)


def cmd_reject(args: argparse.Namespace) -> int:
    w = _wire(args)
    run = w.ops.handle(Reject(args.run_id, args.as_user, args.reason))
    print(f"run #{run.id}: rejected by {args.as_user}: {args.reason}")
    return 0
