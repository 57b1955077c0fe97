"""The SQL implementation of the engine's RunStore port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from chatops.engine.plan import Plan
from chatops.engine.run import (
    ApprovalRecord,
    RunState,
    RunView,
    StepRecord,
    StepState,
    sources_of,
)
from chatops.errors import NotFound
from chatops.store.models import ApprovalRow, PlanRow, RunRow, StepOutputRow, StepRunRow


def _view(r: RunRow) -> RunView:
    return RunView(
        id=r.id,
        task_id=r.task_id,
        plan_hash=r.plan_hash,
        runbook=r.runbook,
        kind=r.kind,
        service=r.service,
        environment=r.environment,
        state=RunState(r.state),
        requester=r.requester,
        created_at=r.created_at,
        updated_at=r.updated_at,
        current_step=r.current_step,
        owner=r.owner,
        error=r.error or "",
        cancel_requested=bool(r.cancel_requested),
        heartbeat_at=r.heartbeat_at,
    )


def _step(r: StepRunRow) -> StepRecord:
    return StepRecord(
        id=r.id,
        run_id=r.run_id,
        phase=r.phase,
        step_id=r.step_id,
        host=r.host,
        state=StepState(r.state),
        exit_code=r.exit_code,
        started_at=r.started_at,
        finished_at=r.finished_at,
        tail=r.tail or "",
        error=r.error or "",
        actor=r.actor,
    )


class SqlRunStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session = sessionmaker(engine, expire_on_commit=False)
        self._pg = engine.dialect.name == "postgresql"

    # plans
    def save_plan(self, plan: Plan) -> None:
        with self.session.begin() as s:
            existing = s.get(PlanRow, plan.task_id)
            if existing is not None:
                if existing.sha256 != plan.sha256:
                    raise ValueError(f"plan {plan.task_id} exists with other content")
                return
            s.add(
                PlanRow(
                    task_id=plan.task_id,
                    sha256=plan.sha256,
                    runbook=plan.runbook,
                    body=plan.canonical().decode(),
                    created_at=datetime.fromisoformat(plan.created_at),
                )
            )

    def load_plan(self, task_id: str) -> Plan:
        with self.session() as s:
            row = s.get(PlanRow, task_id)
            if row is None:
                raise NotFound(f"no plan {task_id}")
            plan = Plan.model_validate_json(row.body)
            if plan.sha256 != row.sha256:
                raise ValueError(f"plan {task_id} does not match its stored hash")
            return plan

    # runs
    def create_run(self, plan: Plan, state: RunState, now: datetime, error: str = "") -> RunView:
        with self.session.begin() as s:
            row = RunRow(
                task_id=plan.task_id,
                plan_hash=plan.sha256,
                runbook=plan.runbook,
                kind=plan.kind,
                service=plan.service,
                environment=plan.environment,
                queue_key=plan.queue_key,
                state=state.value,
                requester=plan.requester,
                created_at=now,
                updated_at=now,
                error=error,
                cancel_requested=False,
            )
            s.add(row)
            s.flush()
            return _view(row)

    def get_run(self, run_id: int) -> RunView:
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"no run {run_id}")
            return _view(row)

    def replace_plan(self, run_id: int, plan: Plan, now: datetime) -> bool:
        waiting = [s.value for s in sources_of(RunState.AWAITING_APPROVAL)]
        with self.session.begin() as s:
            res = s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.state.in_(waiting))
                .values(
                    task_id=plan.task_id,
                    plan_hash=plan.sha256,
                    queue_key=plan.queue_key,
                    service=plan.service,
                    environment=plan.environment,
                    state=RunState.AWAITING_APPROVAL.value,
                    updated_at=now,
                    created_at=now,
                )
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def count_by_state(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(select(RunRow.state, func.count()).group_by(RunRow.state))
            return {state: int(n) for state, n in rows}

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        with self.session() as s:
            q = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
            if states:
                q = q.where(RunRow.state.in_([st.value for st in states]))
            return [_view(r) for r in s.scalars(q)]

    def transition(
        self,
        run_id: int,
        to: RunState,
        now: datetime,
        *,
        error: str | None = None,
        owner: str | None = None,
        keep_owner: bool = False,
    ) -> bool:
        values: dict[str, object] = {"state": to.value, "updated_at": now}
        if to != RunState.RUNNING:
            values["active_key"] = None
            if not keep_owner:
                values["owner"] = None
        if owner is not None:
            values["owner"] = owner
        if error is not None:
            values["error"] = error
        allowed = [s.value for s in sources_of(to)]
        with self.session.begin() as s:
            res = s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.state.in_(allowed))
                .values(**values)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def claim_next(self, owner: str, now: datetime) -> RunView | None:
        with self.session() as s, s.begin():
            q = select(RunRow).where(RunRow.state == RunState.QUEUED.value).order_by(RunRow.id)
            if self._pg:
                q = q.with_for_update(skip_locked=True)
            candidates = list(s.scalars(q))
            tried: set[str] = set()
            for row in candidates:
                key = row.queue_key
                if key in tried:
                    continue
                tried.add(key)
                older = s.scalar(
                    select(func.count())
                    .select_from(RunRow)
                    .where(
                        RunRow.queue_key == key,
                        RunRow.id < row.id,
                        RunRow.state == RunState.QUEUED.value,
                    )
                )
                busy = s.scalar(
                    select(func.count()).select_from(RunRow).where(RunRow.active_key == key)
                )
                if older or busy:
                    continue
                try:
                    with s.begin_nested():
                        res = s.execute(
                            update(RunRow)
                            .where(RunRow.id == row.id, RunRow.state == RunState.QUEUED.value)
                            .values(
                                state=RunState.RUNNING.value,
                                owner=owner,
                                active_key=key,
                                heartbeat_at=now,
                                updated_at=now,
                                cancel_requested=False,
                            )
                        )
                        if not res.rowcount:  # type: ignore[attr-defined]
                            continue
                except IntegrityError:
                    continue
                s.flush()
                s.refresh(row)
                return _view(row)
            return None

    def claim_parked(self, run_id: int, owner: str, now: datetime) -> bool:
        with self.session.begin() as s:
            res = s.execute(
                update(RunRow)
                .where(
                    RunRow.id == run_id,
                    RunRow.state == RunState.RUNNING.value,
                    RunRow.owner.is_(None),
                )
                .values(owner=owner, heartbeat_at=now, updated_at=now)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def park(self, run_id: int, owner: str, now: datetime, step_id: str) -> None:
        with self.session.begin() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.owner == owner)
                .values(owner=None, current_step=step_id, updated_at=now)
            )

    def set_current_step(self, run_id: int, step_id: str | None, now: datetime) -> None:
        with self.session.begin() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(current_step=step_id, updated_at=now, heartbeat_at=now)
            )

    def heartbeat(self, owner: str, now: datetime) -> None:
        with self.session.begin() as s:
            s.execute(update(RunRow).where(RunRow.owner == owner).values(heartbeat_at=now))

    def request_cancel(self, run_id: int) -> None:
        with self.session.begin() as s:
            s.execute(update(RunRow).where(RunRow.id == run_id).values(cancel_requested=True))

    def queue_position(self, run_id: int) -> int:
        """1 for the next to start on its service+environment; 0 if it is not queued."""
        with self.session() as s:
            row = s.get(RunRow, run_id)
            if row is None or row.state != RunState.QUEUED.value:
                return 0
            ahead = s.scalar(
                select(func.count())
                .select_from(RunRow)
                .where(
                    RunRow.queue_key == row.queue_key,
                    RunRow.id < row.id,
                    RunRow.state.in_([RunState.QUEUED.value, RunState.RUNNING.value]),
                )
            )
            return int(ahead or 0) + 1

    # approvals
    def add_approval(self, approval: ApprovalRecord) -> bool:
        try:
            with self.session.begin() as s:
                s.add(
                    ApprovalRow(
                        run_id=approval.run_id,
                        plan_hash=approval.plan_hash,
                        step_key=approval.step_id or "",
                        user_id=approval.user,
                        roles=",".join(approval.roles),
                        at=approval.at,
                    )
                )
            return True
        except IntegrityError:
            return False

    def approvals(self, run_id: int, step_id: str | None = None) -> list[ApprovalRecord]:
        with self.session() as s:
            rows = s.scalars(
                select(ApprovalRow)
                .where(ApprovalRow.run_id == run_id, ApprovalRow.step_key == (step_id or ""))
                .order_by(ApprovalRow.id)
            )
            return [
                ApprovalRecord(
                    r.run_id,
                    r.plan_hash,
                    r.user_id,
                    tuple(x for x in r.roles.split(",") if x),
                    r.step_key or None,
                    r.at,
                )
                for r in rows
            ]

    def approved_by(self, user: str, run_ids: Sequence[int]) -> dict[int, str]:
        if not run_ids:
            return {}
        with self.session() as s:
            q = (
                select(ApprovalRow.run_id, ApprovalRow.plan_hash)
                .where(
                    ApprovalRow.user_id == user,
                    ApprovalRow.step_key == "",
                    ApprovalRow.run_id.in_(list(run_ids)),
                )
                .order_by(ApprovalRow.id)
            )
            return {run_id: plan_hash for run_id, plan_hash in s.execute(q)}

    # steps
    def start_step(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        host: str,
        now: datetime,
        state: StepState = StepState.RUNNING,
    ) -> int:
        with self.session.begin() as s:
            row = StepRunRow(
                run_id=run_id,
                phase=phase,
                step_id=step_id,
                host=host,
                state=state.value,
                started_at=now,
                tail="",
                error="",
            )
            s.add(row)
            s.flush()
            return row.id

    def finish_step(
        self,
        step_run_id: int,
        state: StepState,
        now: datetime,
        *,
        exit_code: int | None = None,
        tail: str = "",
        error: str = "",
        actor: str | None = None,
    ) -> None:
        with self.session.begin() as s:
            s.execute(
                update(StepRunRow)
                .where(StepRunRow.id == step_run_id)
                .values(
                    state=state.value,
                    finished_at=now,
                    exit_code=exit_code,
                    tail=tail,
                    error=error,
                    actor=actor,
                )
            )

    def append_output(self, step_run_id: int, chunk: str) -> None:
        with self.session.begin() as s:
            s.add(StepOutputRow(step_run_id=step_run_id, data=chunk))

    def output(self, step_run_id: int) -> str:
        with self.session() as s:
            q = select(StepOutputRow.data).where(StepOutputRow.step_run_id == step_run_id)
            return "".join(s.scalars(q.order_by(StepOutputRow.id)))

    def steps(self, run_id: int) -> list[StepRecord]:
        with self.session() as s:
            q = select(StepRunRow).where(StepRunRow.run_id == run_id).order_by(StepRunRow.id)
            return [_step(r) for r in s.scalars(q)]
