"""The worker registry: one row per process that executes runs, rewritten at each beat.

A run's owner is a worker's id; whether the owner lives is whether its worker beats
(`adapters/liveness.worker_alive`). Each call is a short transaction of its own, outside any
unit of work: a beat must go through while a run's thread holds a unit open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from chatops.engine.domain.run import RunState
from chatops.engine.ports import WorkerInfo
from chatops.store.models import RunRow, WorkerRow
from chatops.store.runs import of_site, ready_to_go_on

__all__ = ["SqlWorkers"]


def _info(r: WorkerRow) -> WorkerInfo:
    return WorkerInfo(
        id=r.id,
        kind=r.kind,
        host=r.host,
        pid=r.pid,
        site=r.site,
        started_at=r.started_at,
        beat_at=r.beat_at,
        process_key=r.process_key or "",
        config_hash=r.config_hash or "",
    )


class SqlWorkers:
    """`engine` writes (a beat is a write); `reads` answers the loop's look for work without
    taking SQLite's write lock."""

    def __init__(self, engine: Engine, reads: Engine | None = None) -> None:
        self.engine = engine
        self.reads = reads or engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    def claimable(self, site: str | None, now: datetime) -> bool:
        """Is there work a worker of `site` could claim now: a queued run that is due and
        whose service+environment is free, or a parked run whose person has acted?"""
        due = RunRow.not_before.is_(None) | (RunRow.not_before <= now)
        active = aliased(RunRow)
        busy = select(active.id).where(active.active_key == RunRow.queue_key).exists()
        queued = select(RunRow.id).where(
            RunRow.state == RunState.QUEUED.value, due, of_site(site), ~busy
        )
        ready = select(RunRow.id).where(ready_to_go_on(site))
        with Session(self.reads) as s:
            return s.scalar(queued.limit(1)) is not None or s.scalar(ready.limit(1)) is not None

    def register(self, w: WorkerInfo) -> None:
        values = {
            "id": w.id,
            "kind": w.kind,
            "host": w.host,
            "pid": w.pid,
            "process_key": w.process_key,
            "site": w.site,
            "started_at": w.started_at,
            "beat_at": w.beat_at,
            "config_hash": w.config_hash,
        }
        stmt = self._insert(WorkerRow).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}
        )
        with self.engine.begin() as c:
            c.execute(stmt)

    def beat(self, worker_id: str, now: datetime, config_hash: str | None = None) -> bool:
        """False if the row is gone (removed as dead by an operator): register again."""
        values: dict[str, object] = {"beat_at": now}
        if config_hash is not None:
            values["config_hash"] = config_hash
        with self.engine.begin() as c:
            res = c.execute(update(WorkerRow).where(WorkerRow.id == worker_id).values(**values))
        return bool(res.rowcount)

    def remove(self, worker_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))

    def forget(self, before: datetime) -> int:
        """Rows of workers silent since `before` (long dead): gone from the list."""
        with self.engine.begin() as c:
            res = c.execute(delete(WorkerRow).where(WorkerRow.beat_at < before))
        return int(res.rowcount or 0)

    def all(self) -> list[WorkerInfo]:
        with Session(self.engine) as s:
            return [_info(r) for r in s.scalars(select(WorkerRow).order_by(WorkerRow.started_at))]
