"""A plan changed before its run starts: a new version of it on the same run (`task_id~N`),
whose hash voids every approval given to the old one. A part of the change service."""

from __future__ import annotations

from chatops.engine.approvals.parts import ChangeContext, Requested
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.planning.params import as_text
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.policy import evaluate
from chatops.engine.unit_of_work import UnitOfWork
from chatops.errors import PolicyRefused, StateError

__all__ = ["Revisions"]


class Revisions:
    def __init__(self, ctx: ChangeContext) -> None:
        self.ctx = ctx

    def to_answer(self, run_id: int, user: str) -> Plan:
        """The plan whose planning questions `user` is about to answer: only the requester
        may, and only before the run starts (a refusal is audited)."""
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
        why = f"only the requester ({run.requester}) answers the planning questions"
        self._revisable(run, user, why)
        return plan

    def _revisable(self, run: RunView, user: str, why: str, t: UnitOfWork | None = None) -> None:
        """Only the requester changes a plan, and only before its run starts (audited)."""
        if user != run.requester:
            raise self.ctx.deny(user, "revise", why, run, t)
        if run.state not in (RunState.AWAITING_APPROVAL, RunState.APPROVED, RunState.QUEUED):
            raise StateError(f"run {run.id} is {run.state.value}: its plan can no longer change")

    def revise(
        self,
        run_id: int,
        user: str,
        params: dict[str, str],
        text: str | None = None,
        answers: dict[str, str] | None = None,
        why: str = "",
    ) -> Requested:
        """The requester changes a plan that has not started: a new version, whose hash voids
        every approval given to the old one. It awaits approval again. A key that names a
        planning question answers it (`/change edit 3 tables="orders"`). The request keeps
        its words unless new ones are given on purpose (`text`, or `request="..."`); `why`
        is the reason for the change, audited and told in the thread."""
        params = dict(params)
        if "request" in params:
            text = params.pop("request")
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            old = t.plans.get(run.task_id)
            self._revisable(run, user, "only the requester may change a plan", t)
            rb = self.ctx.runbook(old.runbook)
            asked = {q.id for q in rb.questions} - set(rb.parameters)
            answers = {**(answers or {}), **{k: v for k, v in params.items() if k in asked}}
            merged = as_text(old.params)
            if old.start is not None and not {"start_at", "window"} & set(params):
                kept = old.start.window and {"window": old.start.window}  # its time is kept
                merged.update(kept or {"start_at": old.start.not_before})
            merged.update({k: v for k, v in params.items() if k not in asked})
            version = 2
            base = old.task_id.split("~")[0]
            if "~" in old.task_id:
                version = int(old.task_id.rsplit("~", 1)[1]) + 1
            plan = build_plan(
                rb,
                self.ctx.config,
                merged,
                requester=user,
                now=self.ctx.clock.now(),
                request=old.request if text is None else text,
                answers={**old.answers, **(answers or {})},
                task_id=f"{base}~{version}",
            )
        plan = self.ctx.with_facts(plan)  # read on the hosts, outside any unit of work
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            if run.task_id != old.task_id:
                raise StateError(f"run {run.id}'s plan changed meanwhile: look at it again")
            requested = self.put_revision(t, run, old, plan, user, why.strip())
            t.commit()
            return requested

    def put_revision(
        self, t: UnitOfWork, run: RunView, old: Plan, plan: Plan, who: str, why: str = ""
    ) -> Requested:
        """Point a run not yet started at a new version of its plan: earlier approvals are
        void (they name the old hash), the revision is audited, the plan message redrawn."""
        verdict = evaluate(plan)
        if not verdict.ok:
            raise PolicyRefused(list(verdict.reasons))
        t.plans.add(plan)
        site = self.ctx.config.site_of(plan.service, plan.environment)
        if not t.runs.replace_plan(run.id, plan, self.ctx.clock.now(), site=site):
            raise StateError(f"run {run.id} started meanwhile: its plan can no longer change")
        run = t.runs.get(run.id)
        detail = f"from {old.short_hash}: earlier approvals are void"
        self.ctx.audit(t, who, "plan.revised", run, detail + (f"; why: {why}" if why else ""))
        t.events.add(ev.PlanRevised(run, old.sha256, why))
        return Requested(plan, verdict, run)
