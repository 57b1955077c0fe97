"""Group commit (`Together`): writers of the moment share one unit of work; each hears its
own outcome; a store outage reaches all of them and `Durable` waits it out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatops.engine.runs.durable import Durable
from chatops.engine.together import Together
from chatops.engine.unit_of_work import UnitOfWork
from chatops.errors import StoreUnavailable
from tests.factories import NOW, VirtualTime
from tests.memory import MemoryDatabase

WRITERS = 20


def start(host: str) -> Callable[[UnitOfWork], int]:
    return lambda t: t.steps.start(1, "main", "restart", host, NOW)


def queued_behind_a_slow_first(together: Together, works: list[Callable[[UnitOfWork], int]]):  # type: ignore[no-untyped-def]
    """The first writer's work waits until every other writer has queued behind it."""
    first = works[0]

    def slow(t: UnitOfWork) -> int:
        deadline = time.monotonic() + 10
        while together.waiting < len(works) - 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        return first(t)

    with ThreadPoolExecutor(len(works)) as pool:
        lead = pool.submit(together.write, slow)
        while not together._writing:  # the first leads before the others arrive
            time.sleep(0.001)
        rest = [pool.submit(together.write, w) for w in works[1:]]
        return [f.exception() or f.result() for f in [lead, *rest]]


def test_writers_of_the_moment_commit_in_one_or_two_units_each_with_its_own_result() -> None:
    db = MemoryDatabase()
    together = Together(db.transactions(None))  # type: ignore[arg-type]
    ids = queued_behind_a_slow_first(together, [start(f"h{i}") for i in range(WRITERS)])
    assert sorted(ids) == sorted(set(ids)) and len(ids) == WRITERS  # every one its own record
    hosts = {rec.id: rec.host for rec in db.state.steps.values()}
    assert [hosts[i] for i in ids] == [f"h{i}" for i in range(WRITERS)]
    assert db.commits == 2 == together.batches  # the first alone, the rest together


def test_a_pieces_own_error_is_its_alone_the_others_are_written() -> None:
    db = MemoryDatabase()
    together = Together(db.transactions(None))  # type: ignore[arg-type]

    def broken(t: UnitOfWork) -> int:
        raise ValueError("a bug in one writer")

    works = [start(f"h{i}") for i in range(WRITERS)]
    works[7] = broken
    out = queued_behind_a_slow_first(together, works)
    assert isinstance(out[7], ValueError)
    assert sorted(r.host for r in db.state.steps.values()) == sorted(
        f"h{i}" for i in range(WRITERS) if i != 7
    )


def test_a_store_outage_reaches_every_writer_of_the_batch_and_durable_waits_it_out() -> None:
    db = MemoryDatabase()
    tx = db.transactions(None)  # type: ignore[arg-type]
    clock = VirtualTime()
    durable = Durable(tx, patience=60.0, sleep=clock.sleep, monotonic=clock.monotonic)
    db.down = True
    with pytest.raises(StoreUnavailable):
        durable.group.write(start("h0"))
    clock.at(clock.monotonic() + 3.0, lambda: setattr(db, "down", False))
    rec = durable.together("starting restart on h1", start("h1"))
    assert db.state.steps[rec].host == "h1" and clock.monotonic() >= 3.0


def test_a_writer_inside_a_unit_of_work_is_refused_not_deadlocked() -> None:
    db = MemoryDatabase()
    tx = db.transactions(None)  # type: ignore[arg-type]
    together = Together(tx)
    with tx() as t, pytest.raises(RuntimeError, match="open on this thread"):
        together.write(start("h0"))
        t.commit()
    done = threading.Event()

    def later() -> None:
        together.write(start("h1"))
        done.set()

    threading.Thread(target=later).start()
    assert done.wait(5)  # the refused writer left nothing behind it
