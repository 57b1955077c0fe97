"""Runs: their state machine as compare-and-set updates, the queue, claims and heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatops.engine.domain.run import RunState, RunView, StepState, sources_of
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Held
from chatops.errors import NotFound
from chatops.store.models import RunRow, StepRunRow


def of_site(site: str | None) -> ColumnElement[bool]:
    """Runs of `site` (None: runs without one)."""
    return RunRow.site.is_(None) if site is None else RunRow.site == site


def ready_to_go_on(site: str | None) -> ColumnElement[bool]:
    """Runs of `site` parked for a person who has acted: running, nobody holds them, and none
    of their steps waits any more (what `claim_ready` takes)."""
    waiting = (
        select(StepRunRow.id)
        .where(StepRunRow.run_id == RunRow.id, StepRunRow.state == StepState.WAITING.value)
        .exists()
    )
    return and_(
        RunRow.state == RunState.RUNNING.value, RunRow.owner.is_(None), of_site(site), ~waiting
    )


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
        rollback_requested=bool(r.rollback_requested),
        not_before=r.not_before,
    )


class SqlRuns:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._pg = session.get_bind().dialect.name == "postgresql"

    def create(
        self, plan: Plan, state: RunState, now: datetime, error: str = "", site: str | None = None
    ) -> RunView:
        s = self.s
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
            rollback_requested=False,
            not_before=plan.start.earliest if plan.start else None,
            site=site,
        )
        s.add(row)
        s.flush()
        return _view(row)

    def get(self, run_id: int) -> RunView:
        s = self.s
        row = s.get(RunRow, run_id)
        if row is None:
            raise NotFound(f"no run {run_id}")
        return _view(row)

    def for_task(self, task_id: str) -> RunView | None:
        """The newest run of this task (its revisions `task_id~N` included)."""
        q = (
            select(RunRow)
            .where((RunRow.task_id == task_id) | RunRow.task_id.startswith(task_id + "~"))
            .order_by(RunRow.id.desc())
            .limit(1)
        )
        row = self.s.scalars(q).first()
        return None if row is None else _view(row)

    def replace_plan(self, run_id: int, plan: Plan, now: datetime, site: str | None = None) -> bool:
        waiting = [s.value for s in sources_of(RunState.AWAITING_APPROVAL)]
        s = self.s
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
                not_before=plan.start.earliest if plan.start else None,
                site=site,
            )
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def count_by_state(self) -> dict[str, int]:
        s = self.s
        rows = s.execute(select(RunRow.state, func.count()).group_by(RunRow.state))
        return {state: int(n) for state, n in rows}

    def list(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        s = self.s
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
        held_by: str | None = None,
    ) -> bool:
        """Compare-and-set: from a state `to` may follow, and (with `held_by`) only while
        that owner holds the run: a worker whose run was taken over records nothing."""
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
        s = self.s
        q = update(RunRow).where(RunRow.id == run_id, RunRow.state.in_(allowed))
        if held_by is not None:
            q = q.where(RunRow.owner == held_by)
        res = s.execute(q.values(**values))
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def claim_next(
        self, owner: str, now: datetime, held: Held | None = None, site: str | None = None
    ) -> RunView | None:
        """The oldest queued run of `site` whose service+environment is free, now `running`
        and owned by `owner`, in one compare-and-set."""
        s = self.s
        due = RunRow.not_before.is_(None) | (RunRow.not_before <= now)
        q = (
            select(RunRow)
            .where(RunRow.state == RunState.QUEUED.value, due, of_site(site))
            .order_by(RunRow.id)
        )
        if self._pg:
            q = q.with_for_update(skip_locked=True)
        candidates = list(s.scalars(q))
        tried: set[str] = set()
        for row in candidates:
            key = row.queue_key
            if key in tried:
                continue
            tried.add(key)
            if held is not None and held(row.service, row.runbook, row.kind):
                continue
            older = s.scalar(
                select(func.count())
                .select_from(RunRow)
                .where(
                    RunRow.queue_key == key,
                    RunRow.id < row.id,
                    RunRow.state == RunState.QUEUED.value,
                    due,
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

    def next_start(self) -> datetime | None:
        """The earliest scheduled start of a queued run (due or not)."""
        return self.s.scalar(
            select(func.min(RunRow.not_before)).where(
                RunRow.state == RunState.QUEUED.value, RunRow.not_before.is_not(None)
            )
        )

    def claim_ready(self, owner: str, now: datetime, site: str | None = None) -> RunView | None:
        """A run parked for a person whose person has acted (no step of it waits any more),
        now owned by `owner`: any worker of its site goes on with it, whichever process
        recorded the decision."""
        s = self.s
        q = select(RunRow.id).where(ready_to_go_on(site)).order_by(RunRow.id)
        for run_id in list(s.scalars(q)):
            if self.claim_parked(run_id, owner, now):
                return self.get(run_id)
        return None

    def hold(self, run_id: int, owner: str, now: datetime) -> bool:
        """Does `owner` still hold the run? Beats its heartbeat if so (compare-and-set: a run
        taken over meanwhile answers False, and its former owner stops)."""
        res = self.s.execute(
            update(RunRow)
            .where(RunRow.id == run_id, RunRow.owner == owner)
            .values(heartbeat_at=now)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def take_over(self, run_id: int, dead: str, owner: str, now: datetime) -> bool:
        """A running run whose owner `dead` died, now `owner`'s (compare-and-set: of two
        workers that see it dead, one takes it)."""
        res = self.s.execute(
            update(RunRow)
            .where(
                RunRow.id == run_id,
                RunRow.state == RunState.RUNNING.value,
                RunRow.owner == dead,
            )
            .values(owner=owner, heartbeat_at=now, updated_at=now)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def claim_parked(self, run_id: int, owner: str, now: datetime) -> bool:
        s = self.s
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
        s = self.s
        s.execute(
            update(RunRow)
            .where(RunRow.id == run_id, RunRow.owner == owner)
            .values(owner=None, current_step=step_id, updated_at=now)
        )

    def set_current_step(self, run_id: int, step_id: str | None, now: datetime) -> None:
        s = self.s
        s.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(current_step=step_id, updated_at=now, heartbeat_at=now)
        )

    def heartbeat(self, owner: str, now: datetime) -> None:
        s = self.s
        s.execute(update(RunRow).where(RunRow.owner == owner).values(heartbeat_at=now))

    def request_cancel(self, run_id: int) -> None:
        s = self.s
        s.execute(update(RunRow).where(RunRow.id == run_id).values(cancel_requested=True))

    def request_rollback(self, run_id: int) -> None:
        s = self.s
        s.execute(update(RunRow).where(RunRow.id == run_id).values(rollback_requested=True))

    def queue_position(self, run_id: int) -> int:
        """1 for the next to start on its service+environment; 0 if it is not queued."""
        s = self.s
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
