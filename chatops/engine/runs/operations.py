"""Decisions and what follows them, in one place for every front end (Slack, the CLI, the
console, agents): an approval that completes the quorum starts the queue; a manual step
marked done, a gate passed or an escalation answered continues its run; a resumed or
cancelled run lets the next queued one start.

`start` says how work is started: Slack hands it to its run pool, the CLI runs it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatops.engine.approvals.changes import ApprovalStatus, ChangeService
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.runs.runner import Runner

__all__ = ["Operations", "Start", "at_once"]

Start = Callable[[Callable[[], object]], object]


def at_once(work: Callable[[], object]) -> object:
    return work()


class Operations:
    def __init__(self, changes: ChangeService, runner: Runner, start: Start = at_once) -> None:
        self.changes = changes
        self.runner = runner
        self.start = start

    def kick(self) -> None:
        """Start whatever queued runs this process can claim."""
        self.start(self.runner.drain)

    def next_start(self) -> datetime | None:
        """The earliest scheduled start of a queued run (the sweep wakes for it)."""
        with self.changes.tx() as t:
            return t.runs.next_start()

    def continue_run(self, run_id: int) -> None:
        """Go on with a run parked for a person, then with the queue behind it."""

        def go() -> None:
            self.runner.continue_run(run_id)
            self.runner.drain()

        self.start(go)

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
        self.continue_run(run_id)
        return run

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
