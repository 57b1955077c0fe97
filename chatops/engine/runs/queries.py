"""What adapters read about runs (the Slack views, the CLI, the App Home): each call one
short read, no repositories to hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from chatops.engine.approvals.approvers import approval_said, needs_said, still_needed
from chatops.engine.approvals.freezing import in_force
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import ApprovalRecord, AuditEvent, RunState, RunView, StepRecord
from chatops.engine.planning.config import Config
from chatops.engine.planning.freezes import Freeze
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Clock
from chatops.engine.runs.overview import Overview, overview
from chatops.engine.unit_of_work import Transactions

__all__ = ["PLANS_KEPT", "PlanCard", "Queries"]

#: Plans kept parsed, the last used first out: the live runs' (a status update reads its
#: run's plan each time). Bounded low: a plan of many hosts is tens of KB, and 256 of them
#: were most of serve's growth over its first few hundred runs (bench/soak_bench.py).
PLANS_KEPT = 32


@dataclass(frozen=True)
class PlanCard:
    """What a plan's message shows besides the run, read in one transaction: the run now,
    who approved this version of the plan, and the freezes in force on its service."""

    run: RunView
    plan: Plan
    approvers: tuple[str, ...]
    freezes: tuple[str, ...]
    approval: str = ""  # what it needs, plainly ("1 approval from lead (set by ...)")
    needs: str = ""  # who is still needed, named, and who approved


class Queries:
    def __init__(self, tx: Transactions, config: Config, roles: Roles, clock: Clock) -> None:
        self.tx = tx
        self.config = config
        self.roles = roles
        self.clock = clock
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def get_run(self, run_id: int) -> RunView:
        with self.tx() as t:
            return t.runs.get(run_id)

    def load_plan(self, task_id: str) -> Plan:
        """Plans never change once stored (a task id with other content is refused), so the
        last ones read are kept: a run's status updates do not parse its plan each time."""
        with self._lock:
            plan = self._plans.pop(task_id, None)
            if plan is not None:
                self._plans[task_id] = plan  # the last used goes last out
        if plan is not None:
            return plan
        with self.tx() as t:
            plan = t.plans.get(task_id)
        with self._lock:
            self._plans[task_id] = plan
            while len(self._plans) > PLANS_KEPT:
                self._plans.pop(next(iter(self._plans)))
        return plan

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        with self.tx() as t:
            return t.runs.list(limit, states)

    def count_by_state(self) -> dict[str, int]:
        with self.tx() as t:
            return t.runs.count_by_state()

    def queue_position(self, run_id: int) -> int:
        with self.tx() as t:
            return t.runs.queue_position(run_id)

    def steps(self, run_id: int) -> list[StepRecord]:
        with self.tx() as t:
            return t.steps.of_run(run_id)

    def output(self, step_run_id: int) -> str:
        with self.tx() as t:
            return t.steps.output(step_run_id)

    def output_chunks(self, step_run_id: int, page: int = 32) -> Iterator[str]:
        """A step's stored output, a page of chunks per transaction: memory stays bounded."""
        after = 0
        while True:
            with self.tx() as t:
                rows = t.steps.output_page(step_run_id, after, page)
            if not rows:
                return
            for _key, chunk in rows:
                yield chunk
            after = rows[-1][0]

    def approvals(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]:
        with self.tx() as t:
            return t.approvals.of_run(run_id, step_id)

    def audit_for_run(self, run_id: int) -> list[AuditEvent]:
        with self.tx() as t:
            return t.audit.for_run(run_id)

    def recent_audit(self, limit: int = 100) -> list[AuditEvent]:
        with self.tx() as t:
            return t.audit.recent(limit)

    def freezes(self, service: str | None = None) -> list[Freeze]:
        """The change freezes in force (covering `service`, when given)."""
        with self.tx() as t:
            return in_force(self.config, t.freezes, self.clock, service)

    def plan_card(self, run_id: int) -> PlanCard:
        with self.tx() as t:
            run = t.runs.get(run_id)
            valid = [a for a in t.approvals.of_run(run_id) if a.plan_hash == run.plan_hash]
            frozen = in_force(self.config, t.freezes, self.clock, run.service)
        plan = self.load_plan(run.task_id)
        needed = max(plan.approval.quorum, self.config.policies.approvals.get(plan.runbook, 1))
        needs = still_needed(self.config, self.roles, plan, needed, valid)
        return PlanCard(
            run,
            plan,
            tuple(dict.fromkeys(a.user for a in valid)),
            tuple(f.describe() for f in frozen),
            approval_said(plan, needed),
            needs_said(plan, needs, valid),
        )

    def overview(self, user: str) -> Overview:
        """What concerns one person now (the App Home), read in one transaction."""
        with self.tx() as t:
            out = overview(
                user,
                self.config,
                t.runs,
                t.plans,
                t.approvals,
                t.postmortems,
                self.roles,
                self.clock.now(),
            )
            out.freezes = in_force(self.config, t.freezes, self.clock)
            return out
