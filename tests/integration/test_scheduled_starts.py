"""Approve now, start later (`start_at=`, `window=`), with a fake clock on SQLite and
PostgreSQL: a scheduled run starts at its time, once, across a restart and with two
processes sweeping; it keeps no queue waiting; at its start a freeze holds it, a closed
window or lapsed approvals expire it (and say why); it can be cancelled until then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatops.engine.approvals.freezing import FreezeService
from chatops.engine.domain import events as ev
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import RunState
from chatops.engine.planning.runbook import Runbook
from chatops.errors import ParameterError, PermissionDenied
from tests.conftest import eck_config
from tests.factories import NOW, rig
from tests.memory import MemoryDatabase

SERVICE = {"service": "eckwms-global"}
MIN = timedelta(minutes=1)
STARTS = {
    "timezone": "Europe/Berlin",
    "windows": [{"name": "maintenance", "weekly_from": "mon 12:00", "weekly_to": "mon 13:00"}],
}


def started(r: object, run_id: int) -> int:
    return [e.action for e in r.audit.for_run(run_id)].count("run.started")  # type: ignore[attr-defined]


def test_approved_early_it_starts_at_its_time_once_across_a_restart(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    config = eck_config(starts=STARTS)
    first = rig(db_url, config, runbooks, owner="first")
    made = first.changes.request("deploy", {**SERVICE, "start_at": "22:00"}, requester="U_CODER")
    assert made.plan.start is not None  # NOW is 11:30 in Berlin: tonight, 21:00 UTC
    assert made.plan.start.earliest == datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    first.approve_all(made.run.id, "U_LEAD")
    run = first.store.get_run(made.run.id)
    assert run.state == RunState.QUEUED and run.not_before == made.plan.start.earliest
    [approved] = [e for e in first.events.seen if isinstance(e, ev.RunApproved)]
    assert approved.run.not_before == made.plan.start.earliest  # the thread says when
    assert first.runner.drain() == []  # not before its time
    first.clock.advance(9 * 60 * MIN)
    assert first.runner.drain() == []

    second = rig(db_url, config, runbooks, owner="second")  # serve restarted meanwhile
    with second.tx() as t:
        assert t.runs.next_start() == made.plan.start.earliest  # the sweep wakes for it
    for r in (first, second):
        r.clock.set(made.plan.start.earliest + timedelta(seconds=1))
    ran = [*second.runner.drain(), *first.runner.drain(), *second.runner.drain()]
    assert [x.id for x in ran] == [made.run.id]  # started once, by one of them
    assert ran[0].state == RunState.RUNNING and ran[0].current_step == "prepare"  # a person's
    assert started(second, made.run.id) == 1
    second.changes.handoffs.mark_done(made.run.id, "prepare", "U_CODER")
    [done] = [x for r in (first, second) if (x := r.runner.continue_run(made.run.id))]
    assert done.state == RunState.SUCCEEDED
    assert [*first.executor.calls, *second.executor.calls]  # it really ran its commands


def test_a_scheduled_run_keeps_no_queue_waiting(db_url: str, runbooks: dict[str, Runbook]) -> None:
    r = rig(db_url, eck_config(starts=STARTS), runbooks)
    later = r.changes.request("deploy", {**SERVICE, "start_at": "+2h"}, requester="U_CODER")
    now = r.changes.request("deploy", dict(SERVICE), requester="U_CODER")
    r.approve_all(later.run.id, "U_LEAD")
    r.approve_all(now.run.id, "U_LEAD")
    [ran] = r.runner.drain()
    assert ran.id == now.run.id  # the later one, older, does not hold it up
    assert r.store.get_run(later.run.id).state == RunState.QUEUED
    r.changes.handoffs.mark_done(now.run.id, "prepare", "U_CODER")
    done = r.runner.continue_run(now.run.id)
    assert done is not None and done.state == RunState.SUCCEEDED
    assert r.runner.drain() == []  # still not its time
    r.clock.advance(121 * MIN)
    [ran] = r.runner.drain()
    assert ran.id == later.run.id


def test_a_missed_window_expires_it_and_says_why(db_url: str, runbooks: dict[str, Runbook]) -> None:
    r = rig(db_url, eck_config(starts=STARTS), runbooks)
    made = r.changes.request("deploy", {**SERVICE, "window": "maintenance"}, requester="U_CODER")
    assert made.plan.start is not None and made.plan.start.window == "maintenance"
    r.approve_all(made.run.id, "U_LEAD")
    r.clock.set(made.plan.start.latest + MIN)  # serve was down for the whole window
    assert r.runner.drain() == []
    run = r.store.get_run(made.run.id)
    assert run.state == RunState.EXPIRED and "missed window maintenance" in run.error
    [missed] = [e for e in r.events.seen if isinstance(e, ev.StartMissed)]
    assert missed.reason == run.error
    assert "run.start_missed" in r.audit_actions(made.run.id)
    assert started(r, made.run.id) == 0
    assert all(s.startswith("facts-") for s in r.executor.sessions)  # only its facts, read


def test_a_freeze_holds_it_at_its_start_and_its_approvals_then_lapse(
    db_url: str, runbooks: dict[str, Runbook]
) -> None:
    config = eck_config(starts={**STARTS, "late_by": "6h"}, approvals={"hold_for": "2h"})
    r = rig(db_url, config, runbooks)
    freezes = FreezeService(config, r.tx, r.clock, Roles(config))
    made = r.changes.request("deploy", {**SERVICE, "start_at": "+1h"}, requester="U_CODER")
    r.approve_all(made.run.id, "U_LEAD")
    freezes.freeze("eckwms-global", "3h", "incident open", "U_LEAD")
    assert r.runner.drain() == []
    assert "RunHeld" not in r.events.names()  # not due: nothing to say yet
    r.clock.advance(61 * MIN)
    assert r.runner.drain() == []  # due, frozen: held
    assert r.events.names().count("RunHeld") == 1
    r.clock.advance(120 * MIN)  # the freeze ended; approved 3 h ago, they hold 2 h
    assert r.runner.drain() == []
    run = r.store.get_run(made.run.id)
    assert run.state == RunState.EXPIRED and "approvals lapsed" in run.error
    assert started(r, made.run.id) == 0


def test_it_can_be_cancelled_until_it_starts(db_url: str, runbooks: dict[str, Runbook]) -> None:
    r = rig(db_url, eck_config(starts=STARTS), runbooks)
    made = r.changes.request("deploy", {**SERVICE, "start_at": "+30m"}, requester="U_CODER")
    r.approve_all(made.run.id, "U_LEAD")
    assert r.changes.cancel(made.run.id, "U_CODER").state == RunState.CANCELLED
    r.clock.advance(31 * MIN)
    assert r.runner.drain() == []
    assert "run.cancelled" in r.audit_actions(made.run.id)


def test_the_time_is_part_of_what_is_approved(runbooks: dict[str, Runbook]) -> None:
    config = eck_config(starts=STARTS, approvals={"expire_after": "24h"})
    r = rig(MemoryDatabase(), config, runbooks)
    plain = r.changes.request("deploy", dict(SERVICE), requester="U_CODER").plan
    timed = r.changes.request("deploy", {**SERVICE, "start_at": "22:00"}, requester="U_CODER")
    assert plain.start is None and '"start":' not in plain.canonical().decode()  # kept
    assert timed.plan.sha256 != plain.sha256 and '"start":' in timed.plan.canonical().decode()
    with pytest.raises(ParameterError, match="a hotfix starts once approved"):
        r.changes.request(
            "hotfix", {**SERVICE, "ref": "fix-1", "start_at": "22:00"}, requester="U_ONCALL"
        )
    with pytest.raises(ParameterError, match="unknown window"):
        r.changes.request("deploy", {**SERVICE, "window": "night"}, requester="U_CODER")
    r.clock.set(NOW + 12 * 60 * MIN)  # past 22:00 and its late start: approving is refused
    with pytest.raises(PermissionDenied, match="that has passed"):
        r.changes.approve(timed.run.id, "U_LEAD", timed.plan.sha256)
    assert "denied.approve" in r.audit_actions(timed.run.id)


def test_an_edit_keeps_the_time_unless_it_gives_another(runbooks: dict[str, Runbook]) -> None:
    r = rig(MemoryDatabase(), eck_config(starts=STARTS), runbooks)
    made = r.changes.request("deploy", {**SERVICE, "start_at": "22:00"}, requester="U_CODER")
    assert made.plan.start is not None
    kept = r.changes.revisions.revise(made.run.id, "U_CODER", {"ref": "v2"}).plan
    assert kept.start == made.plan.start and kept.params["ref"] == "v2"
    moved = r.changes.revisions.revise(made.run.id, "U_CODER", {"start_at": "23:00"}).plan
    assert moved.start is not None and moved.start.earliest.hour == 22  # 23:00 in Berlin
    dropped = r.changes.revisions.revise(made.run.id, "U_CODER", {"start_at": "now"}).plan
    assert dropped.start is None
    assert r.store.get_run(made.run.id).not_before is None  # the run follows its plan
