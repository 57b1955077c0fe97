"""Agents' part of a change: the seed's delegation rules decide what an agent may ask for
and which steps it may report done; people approve. A part of the change service."""

from __future__ import annotations

from chatops.engine.approvals.handoffs import Handoffs
from chatops.engine.approvals.parts import ChangeContext, Requested, Submit
from chatops.engine.approvals.revisions import Revisions
from chatops.engine.domain import events as ev
from chatops.engine.domain.agent_rules import done_refusal, principal, proposal_refusal
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.run import RunState, RunView, StepState
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.planning.taskformat import import_task
from chatops.errors import NotFound, ParameterError

__all__ = ["Proposals"]


def _answered(plan: Plan) -> None:
    """An agent answers a plan's required planning questions when it proposes it: a plan
    nobody can approve is not posted (people would see a plan waiting on a program)."""
    if plan.unanswered():
        asks = "; ".join(f"{q}: {plan.questions.get(q, q)}" for q in plan.unanswered())
        raise ParameterError(
            f"answer the planning questions of {plan.runbook} in `answers` first: {asks}"
        )


class Proposals:
    def __init__(
        self,
        ctx: ChangeContext,
        submit: Submit,
        revisions: Revisions,
        handoffs: Handoffs,
    ) -> None:
        self.ctx = ctx
        self._submit = submit
        self._revisions = revisions
        self._handoffs = handoffs

    def propose(
        self,
        agent: Agent,
        process: str,
        params: dict[str, str],
        *,
        reason: str,
        on_behalf_of: str | None = None,
        origin: str = "",
        answers: dict[str, str] | None = None,
    ) -> Requested:
        """An agent proposes a change: the seed's delegation rules decide whether it may
        (refusals are audited with the seed's reason); people approve it, never an agent, and
        four-eyes covers the person it acts for."""
        rb = self.ctx.runbook(process)
        who = principal(agent)
        self._may_propose(agent, rb, params.get("service"))
        plan = build_plan(
            rb,
            self.ctx.config,
            params,
            requester=who,
            now=self.ctx.clock.now(),
            request=reason,
            answers=answers,
        )
        plan = plan.model_copy(update={"on_behalf_of": on_behalf_of})
        _answered(plan)
        return self._submit(plan, who, origin=origin)

    def propose_task(
        self,
        agent: Agent,
        task: object,
        *,
        process: str | None = None,
        params: dict[str, str] | None = None,
        on_behalf_of: str | None = None,
        origin: str = "",
        answers: dict[str, str] | None = None,
    ) -> Requested:
        """An agent proposes the seed's task JSON (short or long form). Its steps name runbook
        steps or become people's steps of role coder; its text never becomes a command. The
        agent is the requester, whatever the JSON says."""
        who = principal(agent)
        if process is not None:
            self.ctx.runbook(process)
        if isinstance(task, dict):
            # who asked and when is the server's to say: an exported plan's requester and
            # created_at are dropped, not read
            found = task.get("chatops")
            ext = {
                k: v
                for k, v in (found.items() if isinstance(found, dict) else ())
                if k not in ("requester", "created_at")
            }
            if answers:
                given = ext.get("answers")
                ext["answers"] = {**(given if isinstance(given, dict) else {}), **answers}
            if isinstance(found, dict) or answers:
                task = {**task, "chatops": ext}
        now = self.ctx.clock.now()
        plan = import_task(
            task,
            self.ctx.runbooks,
            self.ctx.config,
            requester=who,
            now=now,
            runbook=process,
            params=params,
        )
        plan = plan.model_copy(update={"on_behalf_of": on_behalf_of})
        self._may_propose(agent, self.ctx.runbook(plan.runbook), plan.service)
        _answered(plan)
        return self._submit_task(plan, who, origin)

    def _submit_task(self, plan: Plan, who: str, origin: str) -> Requested:
        """A task's `task_id` is the agent's idempotency key. Sent again as it was (a retry
        after a timeout): the plan and run it made, nothing new. Sent revised (the
        Architect's answer to a rejection or a question) while its run has not started: a
        new version of the plan on the same run (`task_id~N`), its earlier approvals void,
        audited, the old buttons replaced. Once its run has started or ended, a revision is
        refused: a new task needs a new task_id."""
        from chatops.engine.planning.policy import evaluate
        from chatops.errors import StateError

        base = plan.task_id.split("~")[0]
        with self.ctx.tx() as t:
            run = t.runs.for_task(base)
            existing = None if run is None else t.plans.get(run.task_id)
        if run is None or existing is None:
            return self._submit(plan, who, imported=True, origin=origin)
        same = plan.model_copy(  # a retry: the same plan, whatever its hosts say now
            update={
                "task_id": existing.task_id,
                "created_at": existing.created_at,
                "facts": existing.facts,
            }
        )
        if same.sha256 == existing.sha256:
            return Requested(existing, evaluate(existing), run)
        pending = (RunState.AWAITING_APPROVAL, RunState.APPROVED, RunState.QUEUED)
        never_ran = (RunState.REJECTED, RunState.EXPIRED)
        if run.requester != who or run.state not in (*pending, *never_ran):
            raise StateError(
                f"task {base!r} is run #{run.id} ({run.state.value}): propose a change to it "
                "under a new task_id"
            )
        version = int(existing.task_id.rsplit("~", 1)[1]) + 1 if "~" in existing.task_id else 2
        revised = plan.model_copy(update={"task_id": f"{base}~{version}"})
        if run.state in never_ran:  # rejected or expired: the revision is a new request
            return self._submit(revised, who, imported=True, origin=origin)
        revised = self.ctx.with_facts(revised)
        with self.ctx.tx() as t:
            requested = self._revisions.put_revision(t, run, existing, revised, who)
            t.commit()
            return requested

    def _may_propose(self, agent: Agent, rb: Runbook, service: str | None) -> None:
        refused = proposal_refusal(agent, rb, service)
        if refused is not None:
            raise self.ctx.deny(principal(agent), "propose", refused)

    def report_done(self, agent: Agent, run_id: int, step_id: str, evidence: Evidence) -> RunView:
        """The Coder agent reports a people's step of role coder done, in an approved run
        that waits on it, with its evidence. Nothing else: not a gate, not a machine step,
        not another role's step."""
        who = principal(agent)
        with self.ctx.tx() as t:
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            try:
                step = plan.step(step_id)
            except KeyError:
                raise NotFound(f"run {run.id} has no step {step_id!r}") from None
            refused = done_refusal(agent, step.kind, step.role, run.service)
            if refused is not None:
                raise self.ctx.deny(who, "mark_done", refused, run, t)
            rec = self._handoffs.waiting(t, run, step_id)
            waited = self._handoffs.waited(t, run, rec)
            t.steps.append_output(rec, f"Evidence from {who}:\n{evidence.render()}\n")
            t.steps.finish(rec, StepState.SUCCEEDED, self.ctx.clock.now(), actor=who)
            self.ctx.audit(t, who, "step.done", run, f"{step_id}: {evidence.render()}"[:2000])
            t.events.add(ev.StepDone(run, step_id, who, evidence.text, evidence.links, waited))
            run = t.runs.get(run.id)
            t.commit()
            return run
