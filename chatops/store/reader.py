"""A read-only view of the store for the reading commands (`runs`, `show`, `audit`).

It talks DB-API directly (sqlite3, or psycopg for PostgreSQL) so those commands start in a
fraction of the time SQLAlchemy and Alembic take to import, and it opens the database read
only (SQLite `mode=ro`, a read-only PostgreSQL transaction): reading changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from chatops.engine.domain.identity import Agent
from chatops.engine.domain.run import AuditEvent, RunState, RunView, StepRecord, StepState
from chatops.errors import ConfigError, NotFound
from chatops.store.audit_chain import Row

if TYPE_CHECKING:  # their modules import pydantic: `runs` and `audit` start without it
    from chatops.engine.planning.freezes import Freeze
    from chatops.engine.ports import WorkerInfo

#: The schema this code reads: the newest Alembic revision (a test keeps them equal).
SCHEMA_HEAD = "0013"

RUN_COLUMNS = (
    "id, task_id, plan_hash, runbook, kind, service, environment, state, requester, "
    "created_at, updated_at, current_step, owner, error, cancel_requested, heartbeat_at, "
    "not_before"
)
STEP_COLUMNS = (
    "id, run_id, phase, step_id, host, state, exit_code, started_at, finished_at, tail, "
    "error, actor"
)
AUDIT_COLUMNS = "at, actor, action, run_id, task_id, plan_hash, detail, id"
CHAIN_COLUMNS = "id, at, actor, action, run_id, task_id, plan_hash, detail, prev_hash, hash"
BATCH = 5000


def _time(v: Any) -> Any:
    if v is None:
        return None
    t = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _param_time(t: datetime, mark: str) -> Any:
    """A time as the column holds it: SQLite keeps naive UTC text, PostgreSQL a timestamp."""
    naive = t.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if mark == "?" else naive


def _run(r: Sequence[Any]) -> RunView:
    return RunView(
        id=r[0],
        task_id=r[1],
        plan_hash=r[2],
        runbook=r[3],
        kind=r[4],
        service=r[5],
        environment=r[6],
        state=RunState(r[7]),
        requester=r[8],
        created_at=_time(r[9]),
        updated_at=_time(r[10]),
        current_step=r[11],
        owner=r[12],
        error=r[13] or "",
        cancel_requested=bool(r[14]),
        heartbeat_at=_time(r[15]),
        not_before=_time(r[16]),
    )


def _step(r: Sequence[Any]) -> StepRecord:
    return StepRecord(
        id=r[0],
        run_id=r[1],
        phase=r[2],
        step_id=r[3],
        host=r[4],
        state=StepState(r[5]),
        exit_code=r[6],
        started_at=_time(r[7]),
        finished_at=_time(r[8]),
        tail=r[9] or "",
        error=r[10] or "",
        actor=r[11],
    )


def _event(r: Sequence[Any]) -> AuditEvent:
    return AuditEvent(_time(r[0]), r[1], r[2], r[3], r[4], r[5], r[6] or "", r[7])


class Reader:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if not path or path == ":memory:":
                raise ConfigError(url, ["a reading command needs a database file"])
            self._mark = "?"
            if Path(path).expanduser().exists():
                uri = f"file:{Path(path).expanduser().resolve()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=30)
        elif scheme in ("postgresql", "postgres"):
            import psycopg

            self._mark = "%s"
            conninfo = parts._replace(scheme="postgresql").geturl()
            self._conn = psycopg.connect(unquote(conninfo), autocommit=False)
            self._conn.read_only = True
        else:
            raise ConfigError(url, [f"unknown database kind {parts.scheme!r}"])
        if self._conn is not None:
            self._check_schema()

    def _rows(self, sql: str, *params: Any) -> list[Sequence[Any]]:
        if self._conn is None:
            return []
        with closing(self._conn.cursor()) as cur:
            cur.execute(sql.replace("?", self._mark), params)
            return list(cur.fetchall())

    def _check_schema(self) -> None:
        try:
            found = self._rows("SELECT version_num FROM alembic_version")
        except Exception:  # no table: not a chatops database, or an empty one
            found = []
        version = found[0][0] if found else None
        if version != SCHEMA_HEAD:
            raise ConfigError(
                self.url.split("@")[-1],
                [
                    f"schema {version or 'missing'}, this chatops reads {SCHEMA_HEAD}: "
                    "run `chatops db upgrade` (or any command that writes, on SQLite)"
                ],
            )

    def freezes(self, now: datetime) -> list[Freeze]:
        """The ad hoc freezes in force (SqlFreezes.active, read only)."""
        from chatops.engine.planning.freezes import Freeze

        rows = self._rows(
            "SELECT id, service, reason, ends_at, created_by FROM freezes "
            "WHERE lifted_at IS NULL AND starts_at <= ? AND ends_at > ? ORDER BY id",
            _param_time(now, self._mark),
            _param_time(now, self._mark),
        )
        return [
            Freeze(f"ad hoc #{i}", (svc,) if svc else (), reason, _time(until), by)
            for i, svc, reason, until, by in rows
        ]

    def workers(self) -> list[WorkerInfo]:
        """The workers on the list (alive or not: `liveness.worker_alive` says)."""
        from chatops.engine.ports import WorkerInfo

        rows = self._rows(
            "SELECT id, kind, host, pid, site, started_at, beat_at, process_key, config_hash "
            "FROM workers ORDER BY started_at"
        )
        return [
            WorkerInfo(i, k, h, p, s, _time(start), _time(beat), key or "", cfg or "")
            for i, k, h, p, s, start, beat, key, cfg in rows
        ]

    def agents(self) -> list[Agent]:
        """Every agent and its scope (never a token: only its hash is stored)."""
        rows = self._rows(
            "SELECT name, role, services, processes, created_by, created_at, expires_at, "
            "revoked_at, acts_for FROM agents ORDER BY name"
        )
        return [
            Agent(
                r[0],
                r[1],
                tuple(x for x in (r[2] or "").split(",") if x),
                tuple(x for x in (r[3] or "").split(",") if x),
                r[4],
                _time(r[5]),
                _time(r[6]),
                _time(r[7]),
                tuple(x for x in (r[8] or "").split(",") if x),
            )
            for r in rows
        ]

    def has_postmortem(self, run_id: int) -> bool:
        return bool(self._rows("SELECT 1 FROM postmortems WHERE run_id = ?", run_id))

    @property
    def exists(self) -> bool:
        """False for a SQLite file not created yet (reading it finds nothing)."""
        return self._conn is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def list_runs(self, limit: int = 50, states: Sequence[RunState] = ()) -> list[RunView]:
        where = ""
        if states:
            where = "WHERE state IN (" + ", ".join("?" for _ in states) + ") "
        sql = f"SELECT {RUN_COLUMNS} FROM runs {where}ORDER BY id DESC LIMIT ?"  # noqa: S608
        return [_run(r) for r in self._rows(sql, *[s.value for s in states], limit)]

    def get_run(self, run_id: int) -> RunView:
        rows = self._rows(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", run_id)  # noqa: S608
        if not rows:
            raise NotFound(f"no run #{run_id}")
        return _run(rows[0])

    def plan_body(self, task_id: str) -> str:
        rows = self._rows("SELECT body FROM plans WHERE task_id = ?", task_id)
        if not rows:
            raise NotFound(f"no plan {task_id}")
        return str(rows[0][0])

    def steps(self, run_id: int) -> list[StepRecord]:
        sql = f"SELECT {STEP_COLUMNS} FROM step_runs WHERE run_id = ? ORDER BY id"  # noqa: S608
        return [_step(r) for r in self._rows(sql, run_id)]

    def for_run(self, run_id: int) -> list[AuditEvent]:
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_events WHERE run_id = ? ORDER BY id"  # noqa: S608
        return [_event(r) for r in self._rows(sql, run_id)]

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_events ORDER BY id DESC LIMIT ?"  # noqa: S608
        return [_event(r) for r in self._rows(sql, limit)]

    def head(self) -> tuple[int, str] | None:
        """The newest audit row's id and hash (None for an empty trail)."""
        rows = self._rows("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1] or "")) if rows else None

    def audit_since(self, since: datetime) -> Iterator[AuditEvent]:
        """Every audit row since `since`, in order, in batches (what the delivery numbers read)."""
        for r in self.chain(since=since):
            yield AuditEvent(
                r.at, r.actor, r.action, r.run_id, r.task_id, r.plan_hash, r.detail, r.id
            )

    def chain(self, since: datetime | None = None, run_id: int | None = None) -> Iterator[Row]:
        """Audit rows with their hashes in id order, in batches (the whole trail by default)."""
        after = 0
        while True:
            where = ["id > ?"]
            params: list[Any] = [after]
            if since is not None:
                where.append("at >= ?")
                params.append(since.astimezone(UTC).replace(tzinfo=None))
            if run_id is not None:
                where.append("run_id = ?")
                params.append(run_id)
            sql = (
                f"SELECT {CHAIN_COLUMNS} FROM audit_events WHERE {' AND '.join(where)} "  # noqa: S608
                "ORDER BY id LIMIT ?"
            )
            rows = self._rows(sql, *params, BATCH)
            for r in rows:
                yield Row(r[0], _time(r[1]), r[2], r[3], r[4], r[5], r[6], r[7] or "", r[8], r[9])
            if len(rows) < BATCH:
                return
            after = rows[-1][0]
