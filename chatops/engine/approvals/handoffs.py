"""People's parts of a run: marking a manual step done, approving a gate mid-run."""

from __future__ import annotations

from chatops.engine.approvals.parts import ChangeContext
from chatops.engine.domain import events as ev
from chatops.engine.domain.agent_rules import approval_refusal
from chatops.engine.domain.run import (
    ApprovalRecord,
    AuditEvent,
    RunState,
    RunView,
    StepRecord,
    StepState,
)
from chatops.engine.planning.drift import DRIFT_STEP, FOUND, REAPPROVED
from chatops.engine.unit_of_work import UnitOfWork
from chatops.errors import StateError

__all__ = ["ESCALATION_REASONS", "Handoffs", "taker"]

#: Process 4: when to escalate to the Architect.
ESCALATION_REASONS = {
    "architecture": "the problem needs an architecture change",
    "unclear": "it is unclear how to fix it",
    "recurring": "the problem recurs systematically",
    "decision": "a decision about the approach is needed",
}


def taker(trail: list[AuditEvent]) -> str | None:
    """Who took an escalated run over last (the fix plan is theirs to write), or None."""
    taken = [e.actor for e in trail if e.action == "run.escalation_taken"]
    return taken[-1] if taken else None


class Handoffs:
    """A part of the change service."""

    def __init__(self, ctx: ChangeContext) -> None:
        self.ctx = ctx

    def mark_done(self, run_id: int, step_id: str, user: str) -> RunView:
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            step = plan.step(step_id)
            if step.kind != "manual":
                raise StateError(f"step {step_id} is not a manual step")
            held = self.ctx.roles.of(user)
            if user != run.requester and step.role not in held and "lead" not in held:
                raise self.ctx.deny(
                    user, "mark_done", f"step {step_id} is for the {step.role} role", run, t
                )
            rec = self.waiting(t, run, step_id)
            waited = self.waited(t, run, rec)
            t.steps.finish(rec, StepState.SUCCEEDED, self.ctx.clock.now(), actor=user)
            self.ctx.audit(t, user, "step.done", run, step_id)
            t.events.add(ev.StepDone(run, step_id, user, waited_s=waited))
            run = t.runs.get(run.id)
            t.commit()
            return run

    def approve_gate(self, run_id: int, step_id: str, user: str) -> bool:
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            step = plan.step(step_id)
            if step.kind != "gate":
                raise StateError(f"step {step_id} is not a gate")
            refused = approval_refusal(user)
            if refused is not None:
                raise self.ctx.deny(user, "gate", refused, run, t)
            if self.ctx.config.policies.four_eyes and user == run.requester:
                raise self.ctx.deny(
                    user, "gate", "four-eyes: you cannot pass a gate of your own request", run, t
                )
            held = self.ctx.roles.of(user)
            if not held & set(step.roles):
                why = f"gate {step_id} needs {', '.join(step.roles)}"
                raise self.ctx.deny(user, "gate", why, run, t)
            rec = self.waiting(t, run, step_id)
            since = next(r.started_at for r in t.steps.of_run(run.id) if r.id == rec)
            t.approvals.add(
                ApprovalRecord(
                    run.id, plan.sha256, user, tuple(sorted(held)), step_id, self.ctx.clock.now()
                )
            )
            self.ctx.audit(t, user, "gate.approved", run, step_id)
            users = {  # given while it waits now (a drift step may come back: not before)
                a.user
                for a in t.approvals.of_run(run.id, step_id)
                if a.plan_hash == plan.sha256 and (since is None or a.at >= since)
            }
            passed = len(users) >= step.quorum
            if passed:
                t.steps.finish(rec, StepState.SUCCEEDED, self.ctx.clock.now(), actor=user)
                if step_id == DRIFT_STEP:  # the hosts as found are what is approved now
                    found = [e for e in t.audit.for_run(run.id) if e.action == FOUND]
                    seen = found[-1].detail if found else ""
                    self.ctx.audit(t, user, REAPPROVED, run, seen)
            t.commit()
            return passed

    def cancel_parked(self, t: UnitOfWork, run: RunView, user: str) -> bool:
        """In `t`: end a run that waits on a person (a manual step or a gate) at once. False
        if a process is running it: then it stops before its next step, on a cancel request."""
        holder = f"cancel:{user}"
        if not t.runs.claim_parked(run.id, holder, self.ctx.clock.now()):
            return False
        now = self.ctx.clock.now()
        for rec in t.steps.of_run(run.id):
            if rec.state == StepState.WAITING:
                t.steps.finish(
                    rec.id, StepState.CANCELLED, now, error=f"cancelled by {user}", actor=user
                )
        why = f"cancelled by {user} while waiting at step {run.current_step}"
        t.runs.transition(run.id, RunState.CANCELLED, now, error=why)
        run = t.runs.get(run.id)
        self.ctx.audit(t, user, "run.cancelled", run, f"waiting at step {run.current_step}")
        t.events.add(ev.RunFinished(run, run.state, by=user))
        return True

    def escalate(self, run_id: int, user: str, reason: str, details: str = "") -> RunView:
        """Process 4: hand a production problem to the Architect, with the seed's reason."""
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            if reason not in ESCALATION_REASONS:
                raise StateError(f"pick a reason: {', '.join(ESCALATION_REASONS)}")
            if run.state.is_terminal:
                # its answers (take over, close, cancel) need a run still open
                raise StateError(
                    f"run {run.id} is {run.state.value}: escalate from an open diagnosis "
                    f"(`/change debug {run.service or 'SERVICE'}`)"
                )
            if (
                not self.ctx.roles.of(user) & {"oncall", "coder", "lead", "architect"}
                and user != run.requester
            ):
                raise self.ctx.deny(
                    user, "escalate", "only on-call, coders and leads may escalate", run, t
                )
            self.ctx.audit(
                t,
                user,
                "run.escalated",
                run,
                f"{ESCALATION_REASONS[reason]}; {details}".strip("; "),
            )
            architects = self.ctx.config.roles.get("architect")
            t.events.add(
                ev.RunEscalated(
                    run,
                    user,
                    ESCALATION_REASONS[reason],
                    details,
                    tuple(self.ctx.roles.members("architect")),
                    tuple(architects.groups) if architects else (),
                )
            )
            t.commit()
            return run

    def answer_escalation(self, run_id: int, user: str, how: str, reason: str = "") -> RunView:
        """Process 4, the Architect's answer to an escalation: take the problem over or close
        it with a reason. Closing ends the diagnosis step it waits on (done, by the
        architect). Taking over keeps the escalation open until the fix plan exists
        (`fix_planned`): a form closed unsubmitted leaves nothing lost, and the one who took
        it over may open the form again by pressing Take over again."""
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            if how not in ("take_over", "close"):
                raise StateError(f"unknown answer {how!r}: take_over or close")
            held = self.ctx.roles.of(user)
            if not held & {"architect", "lead"}:
                raise self.ctx.deny(
                    user,
                    f"escalation.{how}",
                    "only the architect (or a lead) answers an escalation",
                    run,
                    t,
                )
            if how == "close" and not reason.strip():
                raise StateError("say why it is closed")
            trail = t.audit.for_run(run.id)
            if not any(e.action == "run.escalated" for e in trail):
                raise StateError(f"run {run.id} was not escalated")
            waiting = [r for r in t.steps.of_run(run.id) if r.state == StepState.WAITING]
            if run.state != RunState.RUNNING or not waiting:
                raise StateError(f"run {run.id} is {run.state.value}: nothing waits for an answer")
            if how == "take_over":
                if taker(trail) == user:
                    return run  # taken over already: the form opens again
                detail = "taken over: a fix plan follows"
                self.ctx.audit(t, user, "run.escalation_taken", run, detail)
                t.events.add(ev.EscalationAnswered(run, user, how))
                t.commit()
                return run
            detail = f"closed: {reason.strip()}"
            self.ctx.audit(t, user, "run.escalation_closed", run, detail)
            self._finish_waiting(t, run, waiting, user, detail)
            t.events.add(ev.EscalationAnswered(run, user, how, reason.strip()))
            run = t.runs.get(run.id)
            t.commit()
            return run

    def fix_planned(self, run_id: int, user: str, fix: RunView) -> RunView:
        """The fix plan of a taken-over escalation exists: the diagnosis it waited on ends,
        done by the architect who took it over, pointing at the fix."""
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            waiting = [r for r in t.steps.of_run(run.id) if r.state == StepState.WAITING]
            if run.state != RunState.RUNNING or not waiting:
                return run  # closed, cancelled or ended meanwhile: the fix stands alone
            detail = f"fix plan: run #{fix.id} ({fix.runbook})"
            self.ctx.audit(t, user, "run.escalation_fixed", run, detail)
            self._finish_waiting(t, run, waiting, user, detail)
            t.events.add(ev.EscalationAnswered(run, user, "fixed", f"run #{fix.id}"))
            run = t.runs.get(run.id)
            t.commit()
            return run

    def _finish_waiting(
        self, t: UnitOfWork, run: RunView, waiting: list[StepRecord], user: str, detail: str
    ) -> None:
        for rec in waiting:
            t.steps.finish(rec.id, StepState.SUCCEEDED, self.ctx.clock.now(), actor=user, error="")
            self.ctx.audit(t, user, "step.done", run, f"{rec.step_id}: {detail}")

    def waited(self, t: UnitOfWork, run: RunView, rec_id: int) -> float | None:
        """Seconds the waiting step `rec_id` has waited for its person, until now."""
        for rec in t.steps.of_run(run.id):
            if rec.id == rec_id and rec.started_at is not None:
                return max(0.0, (self.ctx.clock.now() - rec.started_at).total_seconds())
        return None

    def waiting(self, t: UnitOfWork, run: RunView, step_id: str) -> int:
        for rec in t.steps.of_run(run.id):
            if rec.step_id == step_id and rec.state == StepState.WAITING:
                return rec.id
        raise StateError(f"step {step_id} of run {run.id} is not waiting for anyone")
