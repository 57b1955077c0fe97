"""Database engines and schema upgrades (Alembic, shipped inside the package)."""

from __future__ import annotations

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


def _sqlite_immediate(engine: Engine, deferred: bool = False) -> None:
    """Take the write lock at BEGIN, so a read-then-write cannot interleave across processes."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_current(engine: Engine) -> bool:
    return "runs" in inspect(engine).get_table_names()
