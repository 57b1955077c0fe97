"""What each `chatops` subcommand does; the parser lives in main.py."""

from __future__ import annotations

import argparse
import atexit
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from chatops.bootstrap import Container, build
from chatops.cli.commands import render
from chatops.cli.commands.exits import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE  # noqa: F401
from chatops.cli.commands.terminal import TerminalNotifier
from chatops.engine.domain.run import RunState, StepState
from chatops.engine.planning.params import parse_assignments, service_first
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.taskformat import export_task, import_task
from chatops.engine.runs.commands import (
    Approve,
    ApproveGate,
    Cancel,
    Import,
    MarkDone,
    Request,
    Resume,
    RollBack,
)
from chatops.errors import (
    ChatopsError,
    ConfigError,
    ParameterError,
    PolicyRefused,
    TaskFormatError,
)
from chatops.settings import Settings
from chatops.wiring import Wired


def _settings(args: argparse.Namespace) -> Settings:
    over: dict[str, object] = {}
    if getattr(args, "config", None):
        over["config"] = Path(args.config)
    if getattr(args, "commands", None):
        over["commands"] = Path(args.commands)
    if getattr(args, "database_url", None):
        over["database_url"] = args.database_url
    return Settings(**over)  # type: ignore[arg-type]


_OPENED: list[Container] = []


def close_opened() -> None:
    """Close what the commands of this process wired (their feeds handle what was written
    first: a hotfix's post-mortem, say). At exit, or after a command run in-process."""
    while _OPENED:
        _OPENED.pop().stop()


atexit.register(close_opened)


def _wire(args: argparse.Namespace, stream: bool = False) -> Wired:
    """The engine for one command: it records decisions; with `--here` this terminal is also
    the worker of what it starts (on the workers' list while it lives)."""
    here = bool(getattr(args, "here", False))
    if here and threading.current_thread() is threading.main_thread():
        # Ctrl-C interrupts the run this terminal executes, even when whatever started the
        # process had SIGINT ignored (Python then keeps it ignored: a shell's background
        # job, a test runner's worker), which left the run going and the terminal stuck
        signal.signal(signal.SIGINT, signal.default_int_handler)
    notifier = TerminalNotifier(stream_output=stream)
    held = Held()
    args.held = held  # what a decision starts here runs in `_follow`, where Ctrl-C is handled
    built = build(_settings(args), notifier=notifier, here=here, start=held).start()
    _OPENED.append(built)
    return built.wired


class Held:
    """What a decision started in a `--here` terminal, held until the command runs it (on
    the main thread, where Ctrl-C interrupts it cleanly)."""

    def __init__(self) -> None:
        self.work: list[Callable[[], object]] = []

    def __call__(self, work: Callable[[], object]) -> object:
        self.work.append(work)
        return None

    def run(self) -> None:
        while self.work:
            self.work.pop(0)()


def _run_held(args: argparse.Namespace) -> None:
    held = getattr(args, "held", None)
    if held is not None:
        held.run()


def _decided(w: Wired, run_id: int, what: str) -> int:
    """After a decision taken outside a worker: who will run it, or that nobody can yet."""
    run = w.queries.get_run(run_id)
    note = w.ops.idle_note(run, what)
    if note is not None:
        print(note, file=sys.stderr)
        return 0
    if run.state.is_terminal:
        print(f"run #{run.id} is {run.state.value}")
    else:
        print(
            f"run #{run.id} {what}; a worker runs it: follow it with `chatops show {run.id}` "
            "(or in Slack), or run it in this terminal instead with --here"
        )
    return 0


def _stopped(w: Wired, run_id: int) -> int:
    """Ctrl-C in a terminal that was the run's worker: the run is interrupted where it is,
    visibly, and a lead resumes or rolls it back."""
    ended = w.runner.stop_here(run_id, "stopped with Ctrl-C in the terminal running it")
    state = ended.state.value if ended else "left as it was"
    print(
        f"\nrun #{run_id}: {state}; `chatops resume {run_id} --as LEAD` goes on from "
        f"where it stopped, `chatops rollback {run_id} --as LEAD` undoes it",
        file=sys.stderr,
    )
    return 130


def _decide(
    w: Wired, run_id: int, args: argparse.Namespace, decide: Callable[[], object], what: str
) -> int:
    """A decision, then: with `--here`, the run in this terminal (Ctrl-C: `_stopped`);
    without, what the workers will do (`_decided`)."""
    if not getattr(args, "here", False):
        decide()
        return _decided(w, run_id, what)
    try:
        decide()
        return _follow(w, run_id, args)
    except KeyboardInterrupt:
        return _stopped(w, run_id)


def _params(w: Wired, args: argparse.Namespace) -> dict[str, str]:
    if args.process is not None:
        w.changes.runbook(args.process)  # a typo is named as one, before its parameters
    words = list(args.params)
    if args.process in w.runbooks and "service" in w.runbooks[args.process].parameters:
        words = service_first(words, w.config.services)
    return parse_assignments(words)


def cmd_recover(args: argparse.Namespace) -> int:
    """Mark runs whose process died interrupted (serve does this on its own, every sweep)."""
    w = _wire(args)
    found = w.recover()
    for run_id in found:
        print(f"run #{run_id} was left running by a dead process: now interrupted")
    if not found:
        print("no run was left running by a dead process")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from chatops.cli.commands.demo import init

    init(Path(args.dir), force=args.force)
    print("Next: chatops check; chatops plan deploy demo ref=v2 --as alice; chatops console")
    return 0


def _answers(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ParameterError(f"--answer {item!r} is not id=text")
        out[key] = value
    return out


def _read_task(path: str) -> object:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise TaskFormatError(f"cannot read {path}: {e.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TaskFormatError(
            f"{path}: not JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None


def _plan_from_args(w: Wired, args: argparse.Namespace, requester: str) -> Plan:
    params = _params(w, args)
    if args.import_file:
        data = _read_task(args.import_file)
        return import_task(
            data,
            w.runbooks,
            w.config,
            requester=requester,
            now=w.clock.now(),
            runbook=args.process,
            params=params or None,
        )
    rb = w.changes.runbook(args.process)
    return build_plan(
        rb,
        w.config,
        params,
        requester=requester,
        now=w.clock.now(),
        request=args.text or "",
        answers=_answers(args.answer),
    )


def cmd_plan(args: argparse.Namespace) -> int:
    if args.long and not args.json:
        raise ParameterError("--long is a form of --json: give both")
    w = _wire(args)
    plan = _plan_from_args(w, args, args.as_user)
    # the verdict `run` would give: policy, a freeze in force, the requester's role (when
    # someone is named with --as)
    verdict = w.changes.preview(plan, None if args.as_user == "cli" else args.as_user)
    if args.json:
        print(json.dumps(export_task(plan, long=args.long), indent=2, ensure_ascii=False))
    else:
        print(render.plan_text(plan, verdict))
    return 0 if verdict.ok else EXIT_REFUSED


def cmd_run(args: argparse.Namespace) -> int:
    if args.manual_done and not args.here:
        raise ParameterError("--manual-done drives the run in this terminal: add --here")
    w = _wire(args, stream=args.stream)
    params = _params(w, args)
    if args.import_file:
        task = _read_task(args.import_file)
        req = w.ops.handle(Import(task, args.as_user, args.process, params or None))
    else:
        text, answers = args.text or "", _answers(args.answer)
        req = w.ops.handle(Request(args.process, params, args.as_user, text, answers))
    print(render.plan_text(req.plan, req.verdict, req.run))
    if not req.verdict.ok:
        raise PolicyRefused(list(req.verdict.reasons))
    for approver in args.approve_as:
        try:
            # the one completing the quorum starts it: here (held for `_follow`) or by a worker
            status = w.ops.handle(Approve(req.run.id, approver, req.plan.sha256))
        except ChatopsError:
            # a refused approval ends what this command made: no stray plan waits for
            # somebody to approve it later without knowing (the cancel is audited)
            w.ops.handle(Cancel(req.run.id, args.as_user))
            print(f"run #{req.run.id}: cancelled, its approval was refused", file=sys.stderr)
            raise
        print(
            f"run #{req.run.id}: approved by {approver}"
            + ("" if status.complete else f"; still needs {'; '.join(status.missing)}")
        )
    run = w.queries.get_run(req.run.id)
    if run.state != RunState.QUEUED:  # asked, and on record: done, not refused
        print(
            f"run #{run.id} is {run.state.value}: not enough approvals to start; it waits for "
            f"them (in Slack, or `chatops approve {run.id} --as USER`), or end it: "
            f"`chatops cancel {run.id} --as {args.as_user}`",
            file=sys.stderr,
        )
        return 0
    if req.plan.start is not None and run.not_before and run.not_before > w.clock.now():
        from chatops.engine.planning.starts import starts_said

        print(
            f"run #{run.id}: scheduled, starts at {starts_said(req.plan.start, w.clock.now())}; "
            "a running `chatops serve` starts it then (cancel: "
            f"`chatops cancel {run.id} --as {args.as_user}`)"
        )
        return 0
    pos = w.queries.queue_position(run.id)
    if pos > 1:
        print(f"run #{run.id}: queued at position {pos} for {run.queue_key}")
    code = _decide(w, run.id, args, lambda: None, "approved")  # started by its approval
    if run.is_hotfix and args.here:
        _postmortem_notice(w, run.id)
    return code


def _postmortem_notice(w: Wired, run_id: int) -> None:
    """A hotfix always ends in a post-mortem: say so when the command is over (after the
    feeds have handled the run's end, which opens it)."""
    w.close()
    try:
        pm = w.postmortems.get(run_id)
    except ChatopsError:
        return  # the hotfix did not end here (it waits, or was refused)
    if not pm.done:
        print(
            f"run #{run_id} was a hotfix: its post-mortem is open, due "
            f"{pm.due_at:%Y-%m-%d %H:%M} UTC, owners {', '.join(pm.owners)}; write it with "
            f"`chatops postmortem {run_id} --write --as USER ...` or in Slack",
            file=sys.stderr,
        )


def _follow(w: Wired, run_id: int, args: argparse.Namespace) -> int:
    """Drive manual steps and gates from the command line, when the flags allow it."""
    while True:
        _run_held(args)  # what the last decision started: the run goes on, here
        run = w.queries.get_run(run_id)
        if run.state != RunState.RUNNING or run.owner is not None:
            break
        waiting = [s for s in w.queries.steps(run.id) if s.state == StepState.WAITING]
        if not waiting:
            break
        step = w.queries.load_plan(run.task_id).step(waiting[-1].step_id)
        if step.kind == "manual" and args.manual_done:
            print(f"run #{run.id}: {step.id} marked done by {args.as_user}")
            w.ops.handle(MarkDone(run.id, step.id, args.as_user))  # the run goes on, here
        elif step.kind == "gate" and args.approve_as:
            passed = any(w.ops.handle(ApproveGate(run.id, step.id, u)) for u in args.approve_as)
            if not passed:
                break
        else:
            print(
                f"run #{run.id} waits at {step.kind} step {step.id!r}: "
                f"chatops done {run.id} {step.id} --as USER",
                file=sys.stderr,
            )
            return 0
    run = w.queries.get_run(run_id)
    if run.state == RunState.SUCCEEDED:
        return 0
    if run.state == RunState.ROLLED_BACK and run.rollback_requested:
        return 0  # rolled back, as a lead asked: done
    return EXIT_FAILED


def cmd_done(args: argparse.Namespace) -> int:
    w = _wire(args)
    args.manual_done, args.approve_as = False, []

    def decide() -> None:
        w.ops.handle(MarkDone(args.run_id, args.step, args.as_user))  # and the run goes on

    return _decide(w, args.run_id, args, decide, "goes on")


def cmd_resume(args: argparse.Namespace) -> int:
    w = _wire(args)
    args.manual_done, args.approve_as = False, []

    def decide() -> None:
        w.ops.handle(Resume(args.run_id, args.as_user))  # and it starts again

    return _decide(w, args.run_id, args, decide, "resumed")


def cmd_rollback(args: argparse.Namespace) -> int:
    w = _wire(args)
    args.manual_done, args.approve_as = False, []

    def decide() -> None:
        w.ops.handle(RollBack(args.run_id, args.as_user))  # and the rollback starts

    return _decide(w, args.run_id, args, decide, "to be rolled back")


def cmd_cancel(args: argparse.Namespace) -> int:
    w = _wire(args)
    run = w.ops.handle(Cancel(args.run_id, args.as_user))
    print(
        f"run #{run.id}: {run.state.value}"
        + (" (cancel requested)" if run.cancel_requested else "")
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from chatops.store.db import upgrade

    url = _settings(args).database_url
    upgrade(url)
    print(f"database at {url.split('@')[-1]} is at the latest schema")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from chatops.serve import serve

    settings = _settings(args)
    mode = args.mode or ("http" if args.http else "socket")
    if mode == "auto":
        mode = "socket" if settings.slack_app_token else "http"
    return serve(settings, http=mode == "http", host=args.host, port=args.port)


def cmd_console(args: argparse.Namespace) -> int:
    from chatops.console.main import run_console

    config = Path(args.config) if args.config else None
    return run_console(config, Path(args.dir), _settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from chatops.cli.commands.demo import run_demo, stop

    return stop() if args.stop else run_demo(Path(args.dir), args.cli_main)


def cmd_agent_add(args: argparse.Namespace) -> int:
    from chatops.engine.planning.durations import parse_duration

    w = _wire(args)
    try:
        expires = parse_duration(args.expires) if args.expires else None
    except ValueError as e:
        raise ParameterError(str(e)) from None
    agent, token = w.agents.add(
        args.name,
        args.role,
        by=args.as_user,
        services=[x for x in args.services.split(",") if x],
        processes=[x for x in args.processes.split(",") if x],
        expires=expires,
        acts_for=[x.strip() for x in args.acts_for.split(",") if x.strip()],
    )
    print(f"agent {agent.name} ({agent.role}) added. Its token, shown this once:")
    print(token)
    print("Give it to the agent as CHATOPS_AGENT_TOKEN; chatops keeps only its hash.")
    return 0


def cmd_agent_revoke(args: argparse.Namespace) -> int:
    w = _wire(args)
    agent = w.agents.revoke(args.name, by=args.as_user)
    print(f"agent {agent.name} revoked: its token no longer works")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """`chatops show RUN --link --as USER` (or `chatops report --link --as USER`): the
    user's own link to the run's page, as the View run button gives it (or to the insights
    page, as the App Home's button does): the same roles, the same expiry, refusals audited."""
    if not args.as_user:
        raise ParameterError("--link needs --as USER: a link is for one person")
    settings = _settings(args)
    if not settings.link_key():  # configuration, not a refusal: exit 2
        raise ConfigError(
            "environment", ["set CHATOPS_LINK_SECRET (or SLACK_SIGNING_SECRET): links are signed"]
        )
    w = _wire(args)
    run_id = getattr(args, "run_id", None)
    path = w.insights.link(args.as_user) if run_id is None else w.pages.link(run_id, args.as_user)
    base = (settings.public_url or "http://127.0.0.1:3000").rstrip("/")
    hours = settings.link_ttl / 3600
    print(f"{base}{path}")
    print(f"(for {args.as_user} alone, valid {hours:g} h; `chatops serve` answers it)")
    return 0
