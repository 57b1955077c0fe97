"""The change service: request a plan, approve, reject, cancel, expire, resume.

Every decision, refusal and denied attempt is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chatops.engine.approvals.approvers import (
    barred,
    nobody_approves,
    still_needed,
    unanswered_refusal,
)
from chatops.engine.approvals.expiry import Expiry
from chatops.engine.approvals.freezing import in_force
from chatops.engine.approvals.freezing import refusal as freeze_refusal
from chatops.engine.approvals.handoffs import Handoffs, taker
from chatops.engine.approvals.parts import ChangeContext, Requested
from chatops.engine.approvals.proposals import Proposals
from chatops.engine.approvals.revisions import Revisions
from chatops.engine.domain import events as ev
from chatops.engine.domain.agent_rules import approval_refusal
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import (
    TERMINAL,
    ApprovalRecord,
    RunState,
    RunView,
)
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.policy import Verdict, evaluate
from chatops.engine.planning.runbook import Runbook
from chatops.engine.planning.starts import too_late
from chatops.engine.planning.taskformat import import_task
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions, UnitOfWork
from chatops.errors import (
    ParameterError,
    PolicyRefused,
    StateError,
)

__all__ = ["ApprovalStatus", "ChangeService"]


@dataclass(frozen=True)
class ApprovalStatus:
    run: RunView
    approvers: tuple[str, ...]
    needed: int
    missing: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing


class ChangeService:
    """Requests and decisions; its parts (one context shared, no inheritance) are
    `expiry`, `handoffs` (people's steps, escalations), `revisions` and `proposals` (agents)."""

    def __init__(
        self,
        config: Config,
        runbooks: dict[str, Runbook],
        tx: Transactions,
        clock: Clock,
        roles: Roles,
    ) -> None:
        self.ctx = ctx = ChangeContext(config, runbooks, tx, clock, roles)
        self.config = config
        self.runbooks = runbooks
        self.tx = tx
        self.clock = clock
        self.roles = roles
        self.expiry = Expiry(ctx, lambda t, run, plan: self._approval_status(t, run, plan).missing)
        self.handoffs = Handoffs(ctx)
        self.revisions = Revisions(ctx)
        self.proposals = Proposals(ctx, self.submit, self.revisions, self.handoffs)

    # -- helpers ---------------------------------------------------------------------------
    def bad_input(self, actor: str, action: str, reason: str) -> ParameterError:
        """Audit input that could not be read (a tampered or outdated button, say) and
        return the error that tells the user so."""
        self.ctx.refused(actor, f"denied.{action}", f"unreadable input: {reason}"[:500])
        return ParameterError(reason)

    def runbook(self, name: str) -> Runbook:
        return self.ctx.runbook(name)

    # -- requests --------------------------------------------------------------------------
    def request(
        self,
        process: str,
        params: dict[str, str],
        *,
        requester: str,
        text: str = "",
        answers: dict[str, str] | None = None,
        origin: str = "",
        taking_over: int | None = None,
    ) -> Requested:
        """`origin` says where the request came from, for the front end that answers it
        (`slack:<channel>`: the plan is posted there); the engine only passes it on.
        `taking_over`: the escalated run whose problem `requester` (the architect) took
        over; the fix plan keeps that run's requester, so the architect may approve it."""
        rb = self.runbook(process)
        if taking_over is None:
            self._check_requester(rb, requester)
            owner = requester
        else:
            owner = self._taken_over(taking_over, requester)
            if not self.may_request(rb.name, requester, on_behalf_of=owner):
                self._check_requester(rb, owner)
        plan = build_plan(
            rb,
            self.config,
            params,
            requester=owner,
            now=self.clock.now(),
            request=text,
            answers=answers,
        )
        made = self.submit(plan, requester, origin=origin)
        if taking_over is not None and made.verdict.ok:  # a refused plan fixes nothing
            self.handoffs.fix_planned(taking_over, requester, made.run)
        return made

    def may_request(self, process: str, user: str, on_behalf_of: str | None = None) -> bool:
        """Whether `user` may request `process`: in their own right, or (the fix plan of an
        escalation taken over) as the escalated run's requester could."""
        allowed: list[str] = list(self.runbook(process).requesters)
        if self.roles.may_request(user, allowed):
            return True
        return on_behalf_of is not None and self.roles.may_request(on_behalf_of, allowed)

    def requestable(self, user: str, on_behalf_of: str | None = None) -> list[str]:
        """The processes `user` may request (a form offers only these)."""
        return [n for n in self.runbooks if self.may_request(n, user, on_behalf_of)]

    def _taken_over(self, run_id: int, user: str) -> str:
        """The requester of the escalated run `user` took over (refused, audited, if not)."""
        with self.tx() as t:
            run = t.runs.get(run_id)
            taken = taker(t.audit.for_run(run.id)) == user
        if not taken:
            raise self.ctx.deny(user, "request", f"you did not take over run {run_id}", run)
        return run.requester

    def import_request(
        self,
        data: object,
        *,
        requester: str,
        process: str | None = None,
        params: dict[str, str] | None = None,
        origin: str = "",
    ) -> Requested:
        if process is not None:
            self._check_requester(self.runbook(process), requester)
        plan = import_task(
            data,
            self.runbooks,
            self.config,
            requester=requester,
            now=self.clock.now(),
            runbook=process,
            params=params,
        )
        self._check_requester(self.runbook(plan.runbook), requester)
        return self.submit(plan, requester, imported=True, origin=origin)

    def preview(self, plan: Plan, requester: str | None = None) -> Verdict:
        """The verdict a request of this plan would get now, without requesting it: the
        policy, and what `_submit` and `_check_requester` refuse (a freeze in force; a
        requester without the role, when one is named). `chatops plan` must never say ok
        where `chatops run` refuses."""
        reasons = list(evaluate(plan).reasons)
        nobody = self.nobody_approves(plan)
        if nobody is not None:
            reasons.append(nobody)
        rb = self.runbook(plan.runbook)
        if requester is not None and not self.roles.may_request(requester, list(rb.requesters)):
            reasons.append(
                f"{rb.name}: only {', '.join(rb.requesters)} may request this process "
                f"({requester} may not)"
            )
        with self.tx() as t:
            frozen = self._frozen(t, plan)
        if frozen is not None:
            reasons.append(frozen)
        return Verdict(tuple(reasons))

    def nobody_approves(self, plan: Plan) -> str | None:
        return nobody_approves(self.config, self.roles, plan, self.required_approvals(plan))

    def _frozen(self, t: UnitOfWork, plan: Plan) -> str | None:
        """Why a freeze in force refuses this plan, or None."""
        return freeze_refusal(
            self.config,
            in_force(self.config, t.freezes, self.clock),
            plan.runbook,
            plan.kind,
            plan.service,
        )

    def _check_requester(self, rb: Runbook, requester: str) -> None:
        if not self.roles.may_request(requester, list(rb.requesters)):
            raise self.ctx.deny(
                requester,
                "request",
                f"{rb.name}: only {', '.join(rb.requesters)} may request this process",
            )

    def submit(
        self, plan: Plan, requester: str, imported: bool = False, origin: str = ""
    ) -> Requested:
        if evaluate(plan).ok:  # its hosts as they are now: what its approvers will approve
            plan = self.ctx.with_facts(plan)
        with self.tx() as t:
            frozen = self._frozen(t, plan)
            if frozen is not None:
                self.ctx.refused(requester, "denied.request", frozen, t=t, plan=plan)
                raise PolicyRefused([frozen])
            verdict = evaluate(plan)
            nobody = self.nobody_approves(plan)
            if nobody is not None:
                verdict = Verdict((*verdict.reasons, nobody))
            t.plans.add(plan)
            now = self.clock.now()
            if verdict.ok:
                site = self.config.site_of(plan.service, plan.environment)
                run = t.runs.create(plan, RunState.AWAITING_APPROVAL, now, site=site)
                self.ctx.audit(t, requester, "plan.imported" if imported else "plan.requested", run)
            else:
                run = t.runs.create(plan, RunState.REJECTED, now, "; ".join(verdict.reasons))
                self.ctx.audit(t, requester, "plan.refused", run, "; ".join(verdict.reasons))
            t.events.add(ev.RunRequested(run, tuple(verdict.reasons), origin))
            t.commit()
            return Requested(plan, verdict, run)

    # -- approvals -------------------------------------------------------------------------
    def required_approvals(self, plan: Plan) -> int:
        return max(plan.approval.quorum, self.config.policies.approvals.get(plan.runbook, 1))

    def approval_status(self, run: RunView, plan: Plan) -> ApprovalStatus:
        with self.tx() as t:
            return self._approval_status(t, run, plan)

    def _approval_status(self, t: UnitOfWork, run: RunView, plan: Plan) -> ApprovalStatus:
        valid = [a for a in t.approvals.of_run(run.id) if a.plan_hash == plan.sha256]
        users = tuple(dict.fromkeys(a.user for a in valid))
        needed = self.required_approvals(plan)
        missing: list[str] = []
        if plan.unanswered():
            missing.append("answers to " + ", ".join(plan.unanswered()))
        missing.extend(still_needed(self.config, self.roles, plan, needed, valid))
        return ApprovalStatus(run, users, needed, tuple(missing))

    def approve(self, run_id: int, user: str, plan_hash: str) -> ApprovalStatus:
        self.expiry.check(run_id)  # an expiry found now is on record, whatever follows
        with self.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            if run.state != RunState.AWAITING_APPROVAL:
                self.ctx.refused(user, "denied.approve", f"run is {run.state.value}", run, t)
                raise StateError(f"run {run.id} is {run.state.value}: nothing to approve")
            if plan_hash != plan.sha256 or run.plan_hash != plan.sha256:
                raise self.ctx.deny(
                    user,
                    "approve",
                    "this approval is for a different version of the plan; it was changed and "
                    "earlier approvals are void: review the current plan",
                    run,
                    t,
                )
            if plan.unanswered():
                raise self.ctx.deny(user, "approve", unanswered_refusal(plan, run), run, t)
            refused = approval_refusal(user) or too_late(plan.start, self.clock.now())
            if refused is not None:
                raise self.ctx.deny(user, "approve", refused, run, t)
            if user in barred(self.config, plan):
                raise self.ctx.deny(
                    user, "approve", "four-eyes: you cannot approve your own request", run, t
                )
            held = self.roles.of(user)
            allowed = set(plan.approval.roles)
            if not held & allowed:
                raise self.ctx.deny(
                    user,
                    "approve",
                    f"only {', '.join(sorted(allowed))} may approve {plan.runbook}",
                    run,
                    t,
                )
            added = t.approvals.add(
                ApprovalRecord(
                    run.id, plan.sha256, user, tuple(sorted(held)), None, self.clock.now()
                )
            )
            if added:
                self.ctx.audit(t, user, "plan.approved", run, f"roles: {', '.join(sorted(held))}")
            status = self._approval_status(t, run, plan)
            if status.complete:
                now = self.clock.now()
                if t.runs.transition(run.id, RunState.APPROVED, now):
                    t.runs.transition(run.id, RunState.QUEUED, now)
                    run = t.runs.get(run.id)
                    self.ctx.audit(
                        t,
                        "chatops",
                        "run.queued",
                        run,
                        f"approved by {', '.join(status.approvers)}",
                    )
                    position = t.runs.queue_position(run.id)
                    t.events.add(ev.RunApproved(run, tuple(status.approvers), position))
            elif added:  # the plan message shows who approved so far, from this event
                t.events.add(ev.ApprovalAdded(run, user, status.approvers, status.missing))
            status = ApprovalStatus(
                t.runs.get(run.id), status.approvers, status.needed, status.missing
            )
            t.commit()
            return status

    def reject(self, run_id: int, user: str, reason: str) -> RunView:
        with self.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            if user != run.requester and not self.roles.of(user) & set(plan.approval.roles):
                raise self.ctx.deny(
                    user, "reject", "only an approver or the requester may reject", run, t
                )
            if not t.runs.transition(run.id, RunState.REJECTED, self.clock.now(), error=reason):
                raise StateError(f"run {run.id} is {run.state.value}: it cannot be rejected")
            run = t.runs.get(run.id)
            self.ctx.audit(t, user, "plan.rejected", run, reason)
            t.events.add(ev.RunRejected(run, user, reason))
            t.commit()
            return run

    def cancel(self, run_id: int, user: str) -> RunView:
        with self.tx() as t:
            run = t.runs.get(run_id)
            if user != run.requester and "lead" not in self.roles.of(user):
                raise self.ctx.deny(
                    user, "cancel", "only the requester or a lead may cancel a run", run, t
                )
            if run.state in TERMINAL:
                raise StateError(f"run {run.id} is already {run.state.value}")
            if run.state == RunState.RUNNING:
                if not self.handoffs.cancel_parked(t, run, user):
                    t.runs.request_cancel(run.id)
                    self.ctx.audit(t, user, "run.cancel_requested", run)
                run = t.runs.get(run.id)
                t.commit()
                return run
            if not t.runs.transition(run.id, RunState.CANCELLED, self.clock.now()):
                raise StateError(f"run {run.id} could not be cancelled")
            run = t.runs.get(run.id)
            self.ctx.audit(t, user, "run.cancelled", run)
            t.events.add(ev.RunCancelled(run, user))
            t.commit()
            return run

    def resume(self, run_id: int, user: str) -> RunView:
        """Queue an interrupted run again. Only a lead may: it may re-run a step."""
        with self.tx() as t:
            run = t.runs.get(run_id)
            if "lead" not in self.roles.of(user):
                raise self.ctx.deny(
                    user, "resume", "only a lead may resume an interrupted run", run, t
                )
            if run.state != RunState.INTERRUPTED:
                raise StateError(f"run {run.id} is {run.state.value}, not interrupted")
            t.runs.transition(run.id, RunState.QUEUED, self.clock.now())
            run = t.runs.get(run.id)
            self.ctx.audit(t, user, "run.resumed", run, f"from step {run.current_step}")
            t.commit()
            return run

    def roll_back(self, run_id: int, user: str) -> RunView:
        """Queue an interrupted run to be rolled back instead of resumed (after an unknown
        outcome, a lead who checked the host chooses). Only a lead may."""
        with self.tx() as t:
            run = t.runs.get(run_id)
            if "lead" not in self.roles.of(user):
                why = "only a lead may roll back an interrupted run"
                raise self.ctx.deny(user, "rollback", why, run, t)
            if run.state != RunState.INTERRUPTED:
                raise StateError(f"run {run.id} is {run.state.value}, not interrupted")
            t.runs.request_rollback(run.id)
            t.runs.transition(run.id, RunState.QUEUED, self.clock.now())
            run = t.runs.get(run.id)
            self.ctx.audit(t, user, "run.rollback_requested", run, f"from step {run.current_step}")
            t.commit()
            return run

    def get(self, run_id: int) -> tuple[RunView, Plan]:
        with self.tx() as t:
            run = t.runs.get(run_id)
            return run, t.plans.get(run.task_id)

    def now(self) -> datetime:
        return self.clock.now()
