"""The runner under a store outage (an in-memory store that goes down on cue): output is
buffered and stored once the store is back, the run ends truthfully; past the patience it
ends interrupted, resumable; a worker that fails leaves its run interrupted, not running."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from chatops.adapters.liveness import OwnerLiveness
from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState, RunView, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import OutputCallback
from chatops.engine.runs.commands import Cancel
from chatops.engine.runs.durable import Durable, StoreLost
from chatops.engine.runs.spool import OutputBuffer
from chatops.errors import NotFound
from tests.factories import FakeExecutor, Rig, VirtualTime, rig
from tests.memory import MemoryDatabase

STALE = timedelta(minutes=2)


@dataclass
class OutageExecutor(FakeExecutor):
    """Takes the store down while `restart` runs, prints through the outage, and brings the
    store back `outage` seconds of the runner's waiting later (never, if None): on the
    virtual time the rig's runner waits with, so an outage of a second takes none."""

    db: MemoryDatabase = field(default_factory=MemoryDatabase)
    time: VirtualTime = field(default_factory=VirtualTime)
    outage: float | None = 1.0
    lines: int = 50
    ran: list[str] = field(default_factory=list)

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None = None,
        session: str | None = None,
        job: str | None = None,
    ) -> CommandResult:
        if "pm2 restart" not in command:
            return super().run(host, command, timeout=timeout, on_output=on_output)
        self.ran.append(command)
        self.db.down = True
        if self.outage is not None:
            self.time.at(self.time.monotonic() + self.outage, self.back)
        for i in range(self.lines):
            on_output(f"restart line {i}\n")
        return CommandResult(host.name, command, "ok", 0, "done\n", 0.5)

    def back(self) -> None:
        self.db.down = False


def approved(r: Rig) -> RunView:
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    r.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    [parked] = r.runner.drain()
    r.changes.handoffs.mark_done(parked.id, "prepare", "U_CODER")
    return parked


def restart_output(r: Rig, run_id: int) -> str:
    with r.tx() as t:
        [rec] = [s for s in t.steps.of_run(run_id) if s.step_id == "restart" and s.host]
        return t.steps.output(rec.id)


def test_a_short_outage_mid_step_is_waited_out(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    ex = OutageExecutor(db=db, outage=1.0)
    r = rig(db, config, runbooks, executor=ex, store_time=ex.time)
    run = approved(r)
    done = r.runner.continue_run(run.id)
    assert done is not None and done.state == RunState.SUCCEEDED, done.error
    assert len(ex.ran) == 1  # the command ran once
    out = restart_output(r, run.id)
    assert out == "".join(f"restart line {i}\n" for i in range(50))  # nothing lost, in order
    summaries = {s.step_id: s.state for s in r.store.steps(run.id) if s.host == ""}
    assert (
        summaries["restart"] == StepState.SUCCEEDED and summaries["health"] == StepState.SUCCEEDED
    )
    assert "RunFinished" in r.events.names()


def test_an_outage_past_the_patience_interrupts_the_run_once_the_store_is_back(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    ex = OutageExecutor(db=db, outage=None)
    r = rig(db, config, runbooks, executor=ex, store_patience=0.6, store_time=ex.time)
    run = approved(r)
    # back after the patience (0.6 s of waiting: the run is lost), while the salvage of its
    # output still waits (another 0.6 s from then)
    ex.time.at(1.0, ex.back)
    ended = r.runner.continue_run(run.id)
    assert ended is not None and ended.state == RunState.INTERRUPTED
    assert "the database was unavailable" in ended.error and "step restart" in ended.error
    assert ended.current_step == "restart"
    stored = r.store.get_run(run.id)
    assert stored.state == RunState.INTERRUPTED and stored.owner is None
    assert "run.interrupted" in r.audit_actions(run.id)
    assert "RunInterrupted" in r.events.names()
    assert restart_output(r, run.id).count("restart line") == 50  # salvaged, then said
    assert r.runner.active() == frozenset()

    ex.outage = 0.2  # this time the store is back before the patience runs out
    r.changes.resume(run.id, "U_LEAD")  # resumable: a lead queues it again
    [again] = r.runner.drain()
    assert again.state == RunState.SUCCEEDED, again.error


def test_a_worker_that_fails_leaves_its_run_interrupted_at_once(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    run = approved(r)
    calls = {"n": 0}

    def refuse(t: object) -> bool:  # the third commit of the continued run fails for good
        calls["n"] += 1
        return calls["n"] == 3

    db.refuse = refuse
    ended = r.runner.continue_run(run.id)
    db.refuse = None
    assert ended is not None and ended.state == RunState.INTERRUPTED
    assert "its worker failed" in ended.error and "refused this commit" in ended.error
    assert r.store.get_run(run.id).state == RunState.INTERRUPTED


def test_a_cancel_asked_while_the_store_was_away_ends_the_run_cancelled(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    ex = OutageExecutor(db=db, outage=None)
    r = rig(db, config, runbooks, executor=ex, store_patience=0.3, store_time=ex.time)
    run = approved(r)

    def back_with_a_cancel() -> None:
        db.down = False
        r.changes.cancel(run.id, "U_LEAD")

    ex.time.at(1.0, back_with_a_cancel)
    ended = r.runner.continue_run(run.id)
    assert ended is not None and ended.state == RunState.CANCELLED
    assert "run.cancelled" in r.audit_actions(run.id)


def test_this_process_sees_its_own_dead_workers(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    run = approved(r)
    with r.tx() as t:  # claimed by this process, but no worker executes it
        assert t.runs.claim_parked(run.id, r.runner.owner, r.clock.now())
        t.commit()
    stored = r.store.get_run(run.id)
    alive = OwnerLiveness(r.runner.owner, r.clock.now(), STALE, frozenset({run.id}))
    assert not alive(stored)  # a worker runs it
    fresh = OwnerLiveness(r.runner.owner, r.clock.now(), STALE, frozenset())
    assert not fresh(stored)  # just claimed: its worker may be starting
    r.clock.advance(timedelta(seconds=6))
    later = OwnerLiveness(r.runner.owner, r.clock.now(), STALE, frozenset())
    assert later(stored)
    [ended] = r.runner.recover(later)
    assert ended.state == RunState.INTERRUPTED and "died" in ended.error


def test_a_cancel_of_an_orphaned_run_ends_it_now(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    from chatops.engine.runs.operations import Operations

    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    run = approved(r)
    with r.tx() as t:
        assert t.runs.claim_parked(run.id, r.runner.owner, r.clock.now())
        t.commit()
    r.clock.advance(timedelta(seconds=6))
    ops = Operations(r.changes, r.runner)
    ended = ops.handle(Cancel(run.id, "U_LEAD"))
    assert ended.state == RunState.CANCELLED
    assert r.store.get_run(run.id).state == RunState.CANCELLED


def test_durable_writes_raise_other_errors_at_once() -> None:
    db = MemoryDatabase()
    tx = db.transactions(None)  # type: ignore[arg-type]
    durable = Durable(tx, patience=5.0)
    started = time.monotonic()
    with pytest.raises(NotFound):
        for attempt in durable.attempts("reading a run"):
            with attempt as t:
                t.runs.get(99)
    assert time.monotonic() - started < 1.0
    db.down = True
    with pytest.raises(StoreLost, match="unavailable for 0 s while reading"):
        for attempt in Durable(tx, patience=0.3).attempts("reading"):
            with attempt as t:
                t.runs.list(limit=1)


def test_the_output_buffer_spools_to_disk_in_order() -> None:
    buf = OutputBuffer(memory_limit=1000)
    parts = [f"{i:04d}·ünïcødé→✓\n" for i in range(3000)]
    for p in parts:
        buf.add(p)
    assert buf.spooled > 0
    more = [f"later {i}→\n" for i in range(500)]
    got = []
    while True:
        chunk = buf.take(777)  # cuts that fall inside multi-byte characters
        if not chunk:
            break
        got.append(chunk)
        if more and len(got) % 3 == 0:  # output goes on arriving while it is taken
            for _ in range(50):
                buf.add(more.pop(0))
    assert not more
    assert "".join(got) == "".join(parts) + "".join(f"later {i}→\n" for i in range(500))
    assert len(buf) == 0
    buf.close()


@dataclass
class LosesRestart(FakeExecutor):
    """The connection to the host is lost during the first `restart`: its outcome is unknown."""

    lost: bool = False

    def run(self, host: Host, command: str, **kw: object) -> CommandResult:
        if "pm2 restart" in command and not self.lost:
            self.lost = True
            with self.lock:
                self.calls.append((host.name, command))
            return CommandResult(host.name, command, "unknown", None, "", 1.0, "connection lost")
        return super().run(host, command, **kw)  # type: ignore[arg-type]


def unknown_restart(config: Config, runbooks: dict[str, Runbook]) -> tuple[Rig, RunView]:
    r = rig(MemoryDatabase(), config, runbooks, executor=LosesRestart())
    run = approved(r)
    ended = r.runner.continue_run(run.id)
    assert ended is not None and ended.state == RunState.INTERRUPTED
    assert "lost during `restart`" in ended.error
    assert not [s for s in r.store.steps(run.id) if s.phase == "rollback"]  # not a failure
    return r, run


def restart_job(r: Rig, run_id: int) -> str:
    from chatops.engine.domain.result import job_name

    [rec] = [s for s in r.store.steps(run_id) if s.step_id == "restart" and s.host]
    assert rec.state == StepState.INTERRUPTED
    return job_name(r.store.get_run(run_id).task_id, run_id, rec.id)


def test_a_resumed_unknown_step_that_had_succeeded_is_not_run_again(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    r, run = unknown_restart(config, runbooks)
    r.executor.settled[restart_job(r, run.id)] = 0  # the host says: it ended with exit 0
    r.changes.resume(run.id, "U_LEAD")
    [done] = r.runner.drain()
    assert done.state == RunState.SUCCEEDED, done.error
    restarts = [c for _h, c in r.executor.calls if "pm2 restart" in c]
    assert len(restarts) == 1  # learned, not run again
    assert "step.settled" in r.audit_actions(run.id)


def test_a_resumed_unknown_step_that_had_failed_rolls_back(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    r, run = unknown_restart(config, runbooks)
    r.executor.settled[restart_job(r, run.id)] = 1
    r.changes.resume(run.id, "U_LEAD")
    [done] = r.runner.drain()
    assert done.state == RunState.ROLLED_BACK, done.error
    assert "learned from its host's record of the job" in done.error


def test_a_host_that_still_cannot_say_keeps_the_run_interrupted_and_starts_nothing(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    r, run = unknown_restart(config, runbooks)
    r.executor.settled[restart_job(r, run.id)] = None  # still unreachable
    calls = len(r.executor.calls)
    r.changes.roll_back(run.id, "U_LEAD")
    [again] = r.runner.drain()
    assert again.state == RunState.INTERRUPTED and "still cannot say" in again.error
    assert [c for _h, c in r.executor.calls[calls:]] == [f"settle {restart_job(r, run.id)}"]
