"""Decisions and what follows them, in one place for every front end (Slack, the CLI, the
console, agents): an approval that completes the quorum starts the queue; a manual step
marked done, a gate passed or an escalation answered continues its run; a resumed or
cancelled run lets the next queued one start.

Only a worker executes runs (`chatops serve`, `chatops worker`, a terminal asked to with
`--here`): there `start` hands the work to the process's run threads. Anywhere else (`chatops
mcp`, the CLI's deciding commands) a decision is recorded and the workers are woken
(`wake`); no step runs in a process that may leave, and `idle_note` says when no worker is
alive to take the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatops.engine.approvals.changes import ApprovalStatus, ChangeService
from chatops.engine.approvals.parts import Requested
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.ports import Workforce
from chatops.engine.runs.runner import Runner

__all__ = ["Operations", "Start", "at_once", "idle_note"]

Start = Callable[[Callable[[], object]], object]


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

    def approve(self, run_id: int, user: str, plan_hash: str) -> ApprovalStatus:
        status = self.changes.approve(run_id, user, plan_hash)
        if status.complete and status.run.state == RunState.QUEUED:
            self.runner.drift.record(run_id)  # what it is approved against, before it starts
            self.kick()
        return status

    def mark_done(self, run_id: int, step_id: str, user: str) -> RunView:
        run = self.changes.handoffs.mark_done(run_id, step_id, user)
        self.continue_run(run_id)
        return run

    def approve_gate(self, run_id: int, step_id: str, user: str) -> bool:
        passed = self.changes.handoffs.approve_gate(run_id, step_id, user)
        if passed:
            self.continue_run(run_id)
        return passed

    def answer_escalation(self, run_id: int, user: str, how: str, reason: str = "") -> RunView:
        run = self.changes.handoffs.answer_escalation(run_id, user, how, reason)
        if how == "close":  # a take-over goes on once its fix plan exists (`request`)
            self.continue_run(run_id)
        return run

    def request(
        self,
        process: str,
        params: dict[str, str],
        *,
        user: str,
        text: str = "",
        answers: dict[str, str] | None = None,
        origin: str = "",
        taking_over: int | None = None,
    ) -> Requested:
        """A request from a form. `taking_over`: the escalated run whose problem `user` took
        over; the fix plan is requested on that run's requester's behalf, and the diagnosis
        it waited on then ends and its run goes on."""
        made = self.changes.request(
            process,
            params,
            requester=user,
            text=text,
            answers=answers,
            origin=origin,
            taking_over=taking_over,
        )
        if taking_over is not None:
            self.continue_run(taking_over)
        return made

    def resume(self, run_id: int, user: str) -> RunView:
        run = self.changes.resume(run_id, user)
        self.kick()
        return run

    def roll_back(self, run_id: int, user: str) -> RunView:
        run = self.changes.roll_back(run_id, user)
        self.kick()
        return run

    def cancel(self, run_id: int, user: str) -> RunView:
        run = self.changes.cancel(run_id, user)
        if run.state == RunState.RUNNING and self.runner.orphaned(run):
            # this process owns it but no worker runs it (it stopped): end it now, not at
            # the next sweep
            ended = self.runner.recover(lambda r: r.id == run.id)
            run = ended[0] if ended else run
        if run.state.is_terminal:
            self.kick()  # its service is free for the next queued run
        return run
