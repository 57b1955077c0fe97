"""Decisions and what follows them, in one place for every front end (Slack, the CLI, the
console, agents), through one door: `handle(command)` (`commands.py`). An approval that
completes the quorum starts the queue; a manual step marked done, a gate passed or an
escalation answered continues its run; a resumed or cancelled run lets the next queued one
start.

Only a worker executes runs (`chatops serve`, `chatops worker`, a terminal asked to with
`--here`): there `start` hands the work to the process's run threads. Anywhere else (`chatops
mcp`, the CLI's deciding commands) a decision is recorded and the workers are woken
(`wake`); no step runs in a process that may leave, and `idle_note` says when no worker is
alive to take the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from chatops.engine.approvals.changes import ApprovalStatus, ChangeService
from chatops.engine.approvals.parts import Requested
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.ports import Workforce
from chatops.engine.runs.commands import (
    AnswerEscalation,
    Approve,
    ApproveGate,
    Cancel,
    Command,
    Escalate,
    Import,
    MarkDone,
    Propose,
    ProposeTask,
    Reject,
    ReportDone,
    Request,
    Resume,
    Revise,
    RollBack,
)
from chatops.engine.runs.runner import Runner

__all__ = ["Operations", "Start", "at_once", "idle_note"]

Start = Callable[[Callable[[], object]], object]
R = TypeVar("R")


def at_once(work: Callable[[], object]) -> object:
    return work()


def idle_note(run_id: int, site: str | None, what: str = "approved") -> str:
    """What a decision says when no worker can take its run."""
    if site is None:
        return (
            f"run #{run_id} {what}; no worker is running, so it waits: "
            "start `chatops serve` or `chatops worker`"
        )
    return (
        f"run #{run_id} {what}; no worker of site {site} is running, so it waits: "
        f"start `chatops worker --site {site}`"
    )


class Operations:
    def __init__(
        self,
        changes: ChangeService,
        runner: Runner,
        start: Start = at_once,
        *,
        executes: bool = True,
        wake: Callable[[], None] = lambda: None,
        workforce: Workforce | None = None,
    ) -> None:
        self.changes = changes
        self.runner = runner
        self.start = start
        self.executes = executes  # a worker: runs go on here (else: recorded, workers woken)
        self.wake = wake
        self.workforce = workforce
        self._handlers: dict[type[Command[Any]], Callable[[Any], Any]] = {
            Request: self._request,
            Import: self._import,
            Revise: self._revise,
            Approve: self._approve,
            Reject: self._reject,
            MarkDone: self._mark_done,
            ApproveGate: self._approve_gate,
            Escalate: self._escalate,
            AnswerEscalation: self._answer_escalation,
            Resume: self._resume,
            RollBack: self._roll_back,
            Cancel: self._cancel,
            Propose: self._propose,
            ProposeTask: self._propose_task,
            ReportDone: self._report_done,
        }

    def kick(self) -> None:
        """Start whatever queued (or ready parked) runs a worker can claim: here, if this
        process is one; and wake the others."""
        if self.executes:
            self.start(self.runner.drain)
        self.wake()

    def next_start(self) -> datetime | None:
        """The earliest scheduled start of a queued run (the sweep wakes for it)."""
        with self.changes.tx() as t:
            return t.runs.next_start()

    def idle_note(self, run: RunView, what: str = "approved") -> str | None:
        """ "run #12 approved; no worker is running, so it waits: ..." when no live worker
        can take `run` (of its site), None when one can or this process is one."""
        site = self.changes.config.site_of(run.service, run.environment)
        if (self.executes and site == self.runner.site) or self.workforce is None:
            return None
        if self.workforce.alive(site):
            return None
        return idle_note(run.id, site, what)

    def continue_run(self, run_id: int) -> None:
        """Go on with a run parked for a person, then with the queue behind it: here if this
        process is a worker; else any worker claims it (`claim_ready`)."""
        if not self.executes:
            self.wake()
            return

        def go() -> None:
            self.runner.continue_run(run_id)
            self.runner.drain()

        self.start(go)
        self.wake()

    def take_over(self, run: RunView) -> bool:
        """A run whose worker died: this worker goes on with it (if it is of this worker's
        site, in a state to go on from, and no other worker took it first)."""
        if not self.executes:
            return False
        if self.changes.config.site_of(run.service, run.environment) != self.runner.site:
            return False
        taken = self.runner.adopt(run)
        if taken is None:
            return False

        def go() -> None:
            self.runner.execute(taken, strict=True)
            self.runner.drain()

        self.start(go)
        return True

    # -- commands ---------------------------------------------------------------------------
    def handle(self, command: Command[R]) -> R:
        """Decide `command` and do what follows it: the one way every front end changes
        anything (`engine/commands.py`)."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        return cast(R, handler(command))

    def _request(self, c: Request) -> Requested:
        """A request. Taking over an escalation: the diagnosis it waited on then ends and
        its run goes on."""
        made = self.changes.request(
            c.process,
            c.params,
            requester=c.user,
            text=c.text,
            answers=c.answers,
            origin=c.origin,
            taking_over=c.taking_over,
        )
        if c.taking_over is not None:
            self.continue_run(c.taking_over)
        return made

    def _import(self, c: Import) -> Requested:
        return self.changes.import_request(
            c.data, requester=c.user, process=c.process, params=c.params, origin=c.origin
        )

    def _revise(self, c: Revise) -> Requested:
        return self.changes.revisions.revise(
            c.run_id, c.user, c.params, text=c.text, answers=c.answers, why=c.why
        )

    def _approve(self, c: Approve) -> ApprovalStatus:
        status = self.changes.approve(c.run_id, c.user, c.plan_hash)
        if status.complete and status.run.state == RunState.QUEUED:
            self.runner.drift.record(c.run_id)  # what it is approved against, before it starts
            self.kick()
        return status

    def _reject(self, c: Reject) -> RunView:
        return self.changes.reject(c.run_id, c.user, c.reason)

    def _mark_done(self, c: MarkDone) -> RunView:
        run = self.changes.handoffs.mark_done(c.run_id, c.step_id, c.user)
        self.continue_run(c.run_id)
        return run

    def _approve_gate(self, c: ApproveGate) -> bool:
        passed = self.changes.handoffs.approve_gate(c.run_id, c.step_id, c.user)
        if passed:
            self.continue_run(c.run_id)
        return passed

    def _escalate(self, c: Escalate) -> RunView:
        return self.changes.handoffs.escalate(c.run_id, c.user, c.reason, c.details)

    def _answer_escalation(self, c: AnswerEscalation) -> RunView:
        run = self.changes.handoffs.answer_escalation(c.run_id, c.user, c.how, c.reason)
        if c.how == "close":  # a take-over goes on once its fix plan exists (`_request`)
            self.continue_run(c.run_id)
        return run

    def _resume(self, c: Resume) -> RunView:
        run = self.changes.resume(c.run_id, c.user)
        self.kick()
        return run

    def _roll_back(self, c: RollBack) -> RunView:
        run = self.changes.roll_back(c.run_id, c.user)
        self.kick()
        return run

    def _cancel(self, c: Cancel) -> RunView:
        run = self.changes.cancel(c.run_id, c.user)
        if run.state == RunState.RUNNING and self.runner.orphaned(run):
            # this process owns it but no worker runs it (it stopped): end it now, not at
            # the next sweep
            ended = self.runner.recover(lambda r: r.id == run.id)
            run = ended[0] if ended else run
        if run.state.is_terminal:
            self.kick()  # its service is free for the next queued run
        return run

    def _propose(self, c: Propose) -> Requested:
        return self.changes.proposals.propose(
            c.agent,
            c.process,
            c.params,
            reason=c.reason,
            on_behalf_of=c.on_behalf_of,
            origin=c.origin,
            answers=c.answers,
        )

    def _propose_task(self, c: ProposeTask) -> Requested:
        return self.changes.proposals.propose_task(
            c.agent,
            c.task,
            process=c.process,
            params=c.params,
            on_behalf_of=c.on_behalf_of,
            origin=c.origin,
            answers=c.answers,
        )

    def _report_done(self, c: ReportDone) -> RunView:
        run = self.changes.proposals.report_done(c.agent, c.run_id, c.step_id, c.evidence)
        self.continue_run(c.run_id)
        return run
