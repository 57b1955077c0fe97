"""Database engines and schema upgrades (Alembic, shipped inside the package)."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, reads_only: bool = False) -> Engine:
    """An engine with safe defaults: SQLite in WAL mode, serialised writers, a busy timeout.
    `reads_only`: SQLite transactions begin deferred, so readers never wait for the writer
    lock (WAL lets them read the last commit meanwhile)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_immediate(engine, deferred=reads_only)
        return engine
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("", "psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return create_engine(u, pool_pre_ping=True)


BUSY_TIMEOUT = 30.0  # seconds a writer waits for SQLite's write lock


def _sqlite_immediate(engine: Engine, deferred: bool = False) -> None:
    """Take the write lock at BEGIN, so a read-then-write cannot interleave across processes.

    Within the process, writers queue on a lock of their own first: the next one starts the
    moment the last commits. Left to SQLite's busy handler, 32 hosts' step records waited
    in its sleeps (up to 100 ms between tries) and a step on 200 hosts spent seconds there.
    """
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if deferred:
            conn.exec_driver_sql("BEGIN")
            return
        # not had in time (a writer stuck): on to SQLite's own wait, as without the lock
        conn.info["chatops_writer"] = writer.acquire(timeout=BUSY_TIMEOUT)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop("chatops_writer", False):
            writer.release()

    def _returned(_dbapi_conn: Any, record: Any, *_more: Any) -> None:
        _release(record)  # however a transaction ended, its connection gives the lock back

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)
    event.listen(engine, "checkin", _returned)
    event.listen(engine, "invalidate", _returned)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations. On a SQLite file, one process at a time: serve started in the
    background and a command right after both create a new file's schema at once, and the
    second met "table ... already exists" (Alembic's SQLite DDL is not one transaction)."""
    with _migrating(url):
        command.upgrade(alembic_config(url), revision)


@contextmanager
def _migrating(url: str) -> Iterator[None]:
    """An exclusive lock beside a SQLite file while its schema is upgraded (nothing else)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        yield
        return
    path = Path(u.database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrating", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def is_current(engine: Engine) -> bool:
    return "runs" in inspect(engine).get_table_names()
