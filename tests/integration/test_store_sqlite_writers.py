"""SQLite writers of one process queue on a lock of their own before BEGIN IMMEDIATE; however
a transaction ends (commit, rollback, an error, a session closed, a connection thrown
away), the next writer goes at once, and many writers at once all get through."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from chatops.store.db import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    e = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with e.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
    return e


def goes_at_once(engine: Engine) -> bool:
    """Another thread's write ends within 5 s (a lock left held would keep it 30 s)."""
    done = threading.Event()

    def write() -> None:
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(5)


def committed(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))


def raised(engine: Engine) -> None:
    with pytest.raises(ZeroDivisionError), engine.begin() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
        raise ZeroDivisionError


def failed_statement(engine: Engine) -> None:
    with pytest.raises(Exception, match="no such table"), engine.begin() as c:
        c.execute(text("INSERT INTO missing VALUES (1)"))


def session_closed_without_commit(engine: Engine) -> None:
    s = Session(engine)
    s.execute(text("INSERT INTO t VALUES (1)"))
    s.close()


def connection_thrown_away(engine: Engine) -> None:
    c = engine.connect()
    c.begin()
    c.execute(text("INSERT INTO t VALUES (1)"))
    c.invalidate()  # what SQLAlchemy does with a connection it finds broken


@pytest.mark.parametrize(
    "ending",
    [committed, raised, failed_statement, session_closed_without_commit, connection_thrown_away],
)
def test_the_next_writer_goes_however_a_transaction_ended(
    engine: Engine, ending: Callable[[Engine], None]
) -> None:
    ending(engine)
    assert goes_at_once(engine)
    assert goes_at_once(engine)


def test_many_writers_at_once_all_get_through(engine: Engine) -> None:
    def writes() -> None:
        for _ in range(20):
            committed(engine)

    threads = [threading.Thread(target=writes) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 320
