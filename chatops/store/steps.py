"""Step records (one per step and host) and their output, stored in bounded chunks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from chatops.engine.domain.run import StepRecord, StepState
from chatops.store.models import StepOutputRow, StepRunRow

_STEPS: Table = StepRunRow.__table__  # type: ignore[assignment]
_OUTPUT: Table = StepOutputRow.__table__  # type: ignore[assignment]
# The hot statements built once, their values given as parameters: a statement built per
# call (`insert(t).values(...)`) is made and keyed for the compiled cache each time, five
# times the row's own cost in SQLite (a step on 500 hosts writes 1,500 rows)
_START = insert(_STEPS)
_FINISH = update(_STEPS).where(_STEPS.c.id == bindparam("step_run_id"))
_CHUNK = insert(_OUTPUT)


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


class SqlSteps:
    def __init__(self, session: Session) -> None:
        self.s = session

    def start(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        host: str,
        now: datetime,
        state: StepState = StepState.RUNNING,
    ) -> int:
        # Core statements, not the ORM's unit of work: a step on 500 hosts writes 1,000 of
        # these, and the ORM's bookkeeping cost more CPU than the rows (bench/README.md)
        res = self.s.execute(
            _START,
            {
                "run_id": run_id,
                "phase": phase,
                "step_id": step_id,
                "host": host,
                "state": state.value,
                "started_at": now,
                "tail": "",
                "error": "",
            },
        )
        return int(res.inserted_primary_key[0])  # type: ignore[attr-defined]

    def finish(
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
        self.s.execute(
            _FINISH,
            {
                "step_run_id": step_run_id,
                "state": state.value,
                "finished_at": now,
                "exit_code": exit_code,
                "tail": tail,
                "error": error,
                "actor": actor,
            },
        )

    def append_output(self, step_run_id: int, chunk: str) -> None:
        self.s.execute(_CHUNK, {"step_run_id": step_run_id, "data": chunk})

    def output(self, step_run_id: int) -> str:
        s = self.s
        q = select(StepOutputRow.data).where(StepOutputRow.step_run_id == step_run_id)
        return "".join(s.scalars(q.order_by(StepOutputRow.id)))

    def output_page(self, step_run_id: int, after: int, limit: int) -> list[tuple[int, str]]:
        q = (
            select(StepOutputRow.id, StepOutputRow.data)
            .where(StepOutputRow.step_run_id == step_run_id, StepOutputRow.id > after)
            .order_by(StepOutputRow.id)
            .limit(limit)
        )
        return [(row_id, data) for row_id, data in self.s.execute(q)]

    def output_tail(self, step_run_id: int, limit: int) -> list[tuple[int, str]]:
        q = (
            select(StepOutputRow.id, StepOutputRow.data)
            .where(StepOutputRow.step_run_id == step_run_id)
            .order_by(StepOutputRow.id.desc())
            .limit(limit)
        )
        return [(row_id, data) for row_id, data in reversed(list(self.s.execute(q)))]

    def of_run(self, run_id: int) -> list[StepRecord]:
        s = self.s
        q = select(StepRunRow).where(StepRunRow.run_id == run_id).order_by(StepRunRow.id)
        return [_step(r) for r in s.scalars(q)]
