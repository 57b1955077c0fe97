"""One scheduler leader: a PostgreSQL advisory lock, or a file lock for SQLite."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from chatops.adapters.leader import FileLock, PgAdvisoryLock, leader_lock
from chatops.store.db import make_engine


def test_advisory_lock_has_one_holder_and_passes_on_when_it_dies(postgres_url: str) -> None:
    a = PgAdvisoryLock(make_engine(postgres_url))
    b = PgAdvisoryLock(make_engine(postgres_url))
    assert a.acquire() and a.still_held()
    assert not b.acquire()
    # the leader's connection dies (as it does with its process): the lock goes with it
    assert a._conn is not None
    pid = a._conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with make_engine(postgres_url).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    assert not a.still_held()
    assert b.acquire()
    assert not a.acquire()
    b.release()
    assert a.acquire()
    a.release()


def test_file_lock_has_one_holder(tmp_path: Path) -> None:
    a, b = FileLock(tmp_path / "x.lock"), FileLock(tmp_path / "x.lock")
    assert a.acquire() and not b.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_the_lock_follows_the_database(tmp_path: Path, postgres_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert isinstance(leader_lock(url, make_engine(url)), FileLock)
    assert isinstance(leader_lock(postgres_url, make_engine(postgres_url)), PgAdvisoryLock)
