"""People's parts of a run: marking a manual step done, approving a gate mid-run."""

from __future__ import annotations

from chatops.engine.config import Config
from chatops.engine.plan import Plan
from chatops.engine.ports import Clock, RunStore
from chatops.engine.roles import Roles
from chatops.engine.run import ApprovalRecord, RunView, StepState
from chatops.errors import PermissionDenied, StateError


class Handoffs:
    """Mixed into ChangeService, which provides these attributes and helpers."""

    config: Config
    store: RunStore
    clock: Clock
    roles: Roles

    def _audit(
        self,
        actor: str,
        action: str,
        run: RunView | None = None,
        detail: str = "",
        plan: Plan | None = None,
    ) -> None:
        raise NotImplementedError

    def _deny(
        self, actor: str, action: str, reason: str, run: RunView | None = None
    ) -> PermissionDenied:
        raise NotImplementedError

    def mark_done(self, run_id: int, step_id: str, user: str) -> RunView:
        run = self.store.get_run(run_id)
        plan = self.store.load_plan(run.task_id)
        step = plan.step(step_id)
        if step.kind != "manual":
            raise StateError(f"step {step_id} is not a manual step")
        held = self.roles.of(user)
        if user != run.requester and step.role not in held and "lead" not in held:
            raise self._deny(user, "mark_done", f"step {step_id} is for the {step.role} role", run)
        rec = self._waiting(run, step_id)
        self.store.finish_step(rec, StepState.SUCCEEDED, self.clock.now(), actor=user)
        self._audit(user, "step.done", run, step_id)
        return self.store.get_run(run.id)

    def approve_gate(self, run_id: int, step_id: str, user: str) -> bool:
        run = self.store.get_run(run_id)
        plan = self.store.load_plan(run.task_id)
        step = plan.step(step_id)
        if step.kind != "gate":
            raise StateError(f"step {step_id} is not a gate")
        if self.config.policies.four_eyes and user == run.requester:
            raise self._deny(
                user, "gate", "four-eyes: you cannot pass a gate of your own request", run
            )
        held = self.roles.of(user)
        if not held & set(step.roles):
            raise self._deny(user, "gate", f"gate {step_id} needs {', '.join(step.roles)}", run)
        rec = self._waiting(run, step_id)
        self.store.add_approval(
            ApprovalRecord(
                run.id, plan.sha256, user, tuple(sorted(held)), step_id, self.clock.now()
            )
        )
        self._audit(user, "gate.approved", run, step_id)
        users = {
            a.user for a in self.store.approvals(run.id, step_id) if a.plan_hash == plan.sha256
        }
        if len(users) >= step.quorum:
            self.store.finish_step(rec, StepState.SUCCEEDED, self.clock.now(), actor=user)
            return True
        return False

    def _waiting(self, run: RunView, step_id: str) -> int:
        for rec in self.store.steps(run.id):
            if rec.step_id == step_id and rec.state == StepState.WAITING:
                return rec.id
        raise StateError(f"step {step_id} of run {run.id} is not waiting for anyone")
