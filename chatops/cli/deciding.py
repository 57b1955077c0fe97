"""Deciding and steering a run: `approve`, `reject`, `done`, `resume`, `rollback`,
`cancel` (each as its button in Slack, audited as the person named)."""

from __future__ import annotations

import argparse

from chatops.cli.parsing import Handler, Parsers, command, here_flag


def register(p: Parsers) -> None:
    s = p.add("approve", "approve the plan a run awaits (like its button)")
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
    s.set_defaults(func=command(_approve))

    s = p.add("reject", "reject the plan a run awaits")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run to reject")
    s.add_argument("--reason", required=True, help="why (it goes to the audit trail)")
    s.add_argument("--as", dest="as_user", required=True, help="an approver or the requester")
    s.set_defaults(func=command(_reject))

    s = p.add("done", "mark a manual step done and continue")
    s.add_argument("run_id", type=int, metavar="RUN", help="the run that waits on the step")
    s.add_argument("step", metavar="STEP", help="the step's id, as `chatops show RUN` lists it")
    s.add_argument("--as", dest="as_user", required=True, help="who did it (its role's member)")
    here_flag(s)
    s.set_defaults(func=command(_done))

    steering: tuple[tuple[str, Handler, str], ...] = (
        ("resume", _resume, "queue an interrupted run again (lead)"),
        ("rollback", _rollback, "roll an interrupted run back instead (lead)"),
        ("cancel", _cancel, "cancel a run (requester or lead)"),
    )
    for name, run, text in steering:
        s = p.add(name, text)
        s.add_argument("run_id", type=int, metavar="RUN", help="the run's number")
        s.add_argument("--as", dest="as_user", required=True, help="who does it (audited)")
        if name != "cancel":
            here_flag(s)
        s.set_defaults(func=command(run))


def _approve(args: argparse.Namespace) -> int:
    from chatops.cli.commands.deciding import cmd_approve

    return cmd_approve(args)


def _reject(args: argparse.Namespace) -> int:
    from chatops.cli.commands.deciding import cmd_reject

    return cmd_reject(args)


def _done(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_done

    return cmd_done(args)


def _resume(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_resume

    return cmd_resume(args)


def _rollback(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_rollback

    return cmd_rollback(args)


def _cancel(args: argparse.Namespace) -> int:
    from chatops.cli.commands.handlers import cmd_cancel

    return cmd_cancel(args)
