"""The on-call commands from the terminal, for when Slack itself is down: `logs`, `status`,
`postmortem` (read it, export it, write it)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from chatops.cli.commands.exits import EXIT_FAILED
from chatops.cli.commands.handlers import _wire
from chatops.errors import ParameterError


def cmd_logs(args: argparse.Namespace) -> int:
    """/logs from the terminal: for when Slack itself is down."""
    from chatops.engine.incidents.logquery import parse_logs

    w = _wire(args)
    q = parse_logs(" ".join(shlex.quote(a) for a in args.words), w.config.policies.logs_max_lines)
    res = w.oncall.logs(q, args.as_user)
    for note in res.notes:
        print(f"# {note}")
    for r in res.results:
        print(f"== {r.host}: {r.outcome}" + (f" ({r.error})" if r.error else ""))
        out = res.outputs.get(r.host, "")
        if out:
            print(out.rstrip("\n"))
    return 0 if all(r.outcome in ("ok", "failed") for r in res.results) else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    w = _wire(args)
    st = w.oncall.status(args.service, args.as_user, args.environment)
    print(f"{st.service} / {st.environment}")
    for h in st.hosts:
        extra = ", ".join(
            x
            for x in (
                f"up {h.uptime}" if h.uptime else "",
                f"{h.restarts} restarts" if h.restarts else "",
                h.detail,
            )
            if x
        )
        print(f"  {h.host}: {h.state}" + (f" ({extra})" if extra else ""))
    print(f"  health: {st.health}")
    if st.contradiction:
        print(f"  warning: {st.contradiction}")
    last = st.last_success
    print(
        f"  last successful run: #{last.id} {last.runbook}"
        if last
        else "  last successful run: none"
    )
    for r in st.active:
        print(f"  in progress: #{r.id} {r.runbook} ({r.state.value})")
    for run_id in st.open_postmortems:
        print(f"  open post-mortem: run #{run_id}")
    return 0


def cmd_postmortem(args: argparse.Namespace) -> int:
    w = _wire(args)
    if args.run_id is None:
        args.run_id = w.postmortems.latest().run_id
    if args.markdown:
        print(w.postmortems.export(args.run_id))
        return 0
    if args.write:
        from chatops.engine.domain.postmortem import QUESTIONS

        if not args.as_user:
            raise ParameterError("--write needs --as USER (an owner of the post-mortem, or a lead)")
        given = {**vars(args), "process": args.pm_process}
        answers = {k: (given.get(k) or "").strip() for k, _q in QUESTIONS}
        answers["timeline"] = (
            Path(args.timeline).read_text(encoding="utf-8")
            if args.timeline
            else w.postmortems.timeline(args.run_id)
        )
        pm = w.postmortems.submit(args.run_id, args.as_user, answers)
        print(f"post-mortem of run #{pm.run_id}: written by {pm.author}; the reminders stop")
        return 0
    pm = w.postmortems.get(args.run_id)
    state = f"written by {pm.author}" if pm.done else f"open, {pm.reminders_sent} reminders sent"
    print(f"post-mortem of run #{pm.run_id}: {state}; due {pm.due_at:%Y-%m-%d %H:%M} UTC")
    if not pm.done:
        print(
            f"write it: chatops postmortem {pm.run_id} --write --as USER --why ... "
            "--prevent ... --process ... --docs ..."
        )
    return 0
