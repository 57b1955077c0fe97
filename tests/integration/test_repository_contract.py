"""The store's contract, one suite run on every implementation of the engine's repository
ports: the in-memory fakes the unit tests build on (tests/memory.py), SQLite and a real
PostgreSQL (both built by `alembic upgrade`). A fake that drifts from the SQL store (a
compare-and-set it does not refuse, an order it does not keep) fails here, not in a unit
test that passes for the wrong reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.events import RunApproved, RunRequested, RunStarted
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.run import ApprovalRecord, AuditEvent, RunState, RunView, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import EventLog
from chatops.engine.unit_of_work import Transactions
from chatops.errors import NotFound
from tests.conftest import sql_database
from tests.factories import NOW, Each, plan_for
from tests.factories import sql_store as open_sql
from tests.memory import MemoryDatabase

LATER = NOW + timedelta(minutes=5)


@dataclass
class Backend:
    kind: str
    tx: Transactions
    events: EventLog

    def repo(self, name: str) -> Each:
        """The repository, each call a unit of work of its own."""
        return Each(self.tx, name)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = ManualClock(NOW)
    if request.param == "memory":
        db = MemoryDatabase()
        yield Backend("memory", db.transactions(clock), db)
        return
    for url in sql_database(request, request.param, tmp_path):
        opened = open_sql(url, clock)
        yield Backend(request.param, opened.tx, opened.events)
        opened.engine.dispose()


def a_run(
    store: Backend,
    runbooks: dict[str, Runbook],
    config: Config,
    state: RunState = RunState.AWAITING_APPROVAL,
    **params: str,
) -> tuple[Plan, RunView]:
    plan = plan_for(runbooks, config, **{"service": "eckwms-global", **params})
    store.repo("plans").add(plan)
    return plan, store.repo("runs").create(plan, state, NOW)


# -- plans and runs ---------------------------------------------------------------------
def test_a_plan_round_trips_and_a_task_id_keeps_its_content(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    store.repo("plans").add(plan)
    store.repo("plans").add(plan)  # the same plan again: no error
    got = store.repo("plans").get(plan.task_id)
    assert got == plan and got.sha256 == plan.sha256
    with pytest.raises(NotFound):
        store.repo("plans").get("no-such-task")
    other = plan.model_copy(update={"request": plan.request + " (changed)"})
    with pytest.raises(Exception):
        store.repo("plans").add(other)
    assert store.repo("plans").get(plan.task_id) == plan


def test_transitions_are_compare_and_set_along_the_state_machine(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    _plan, run = a_run(store, runbooks, config)
    runs = store.repo("runs")
    assert run.state == RunState.AWAITING_APPROVAL and run.created_at == NOW
    assert not runs.transition(run.id, RunState.RUNNING, NOW)  # must be queued first
    assert runs.transition(run.id, RunState.APPROVED, NOW)
    assert not runs.transition(run.id, RunState.APPROVED, NOW)  # a second click: nothing
    assert runs.transition(run.id, RunState.QUEUED, LATER)
    got = runs.get(run.id)
    assert got.state == RunState.QUEUED and got.updated_at == LATER
    assert runs.transition(run.id, RunState.CANCELLED, LATER)
    assert not runs.transition(run.id, RunState.QUEUED, LATER)  # an end is an end
    with pytest.raises(NotFound):
        runs.get(run.id + 1000)


def test_one_run_at_a_time_per_service_and_environment_in_queue_order(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    made = [
        a_run(store, runbooks, config, RunState.QUEUED, service="eckwms-global", environment=e)[1]
        for e in ("production", "production", "staging")
    ]
    runs = store.repo("runs")
    first = runs.claim_next("a", NOW)
    assert first is not None and first.id == made[0].id and first.owner == "a"
    assert first.state == RunState.RUNNING
    assert runs.queue_position(made[1].id) == 2
    second = runs.claim_next("b", NOW)
    assert second is not None and second.id == made[2].id  # staging is free
    assert runs.claim_next("c", NOW) is None  # production is busy
    assert runs.transition(made[0].id, RunState.SUCCEEDED, LATER)
    assert runs.queue_position(made[1].id) == 1
    third = runs.claim_next("c", NOW)
    assert third is not None and third.id == made[1].id and third.owner == "c"


def test_a_run_held_by_a_freeze_is_not_started(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    run = a_run(store, runbooks, config, RunState.QUEUED)[1]
    asked: list[tuple[str | None, str, str]] = []

    def frozen(service: str | None, runbook: str, kind: str) -> bool:
        asked.append((service, runbook, kind))
        return True

    assert store.repo("runs").claim_next("a", NOW, held=frozen) is None
    assert ("eckwms-global", "deploy", "deploy") in asked
    assert store.repo("runs").get(run.id).state == RunState.QUEUED
    got = store.repo("runs").claim_next("a", NOW, held=lambda _s, _r, _k: False)
    assert got is not None and got.id == run.id


def test_lists_counts_and_the_newest_run_of_a_task(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan, first = a_run(store, runbooks, config)
    _other, second = a_run(store, runbooks, config, RunState.QUEUED, environment="staging")
    runs = store.repo("runs")
    assert [r.id for r in runs.list(10)] == [second.id, first.id]  # newest first
    assert [r.id for r in runs.list(10, [RunState.QUEUED])] == [second.id]
    assert [r.id for r in runs.list(1)] == [second.id]
    counts = runs.count_by_state()
    assert counts.get("awaiting_approval") == 1 and counts.get("queued") == 1
    found = runs.for_task(plan.task_id)
    assert found is not None and found.id == first.id
    assert runs.for_task("no-such-task") is None


def test_a_revised_plan_replaces_the_old_only_before_the_run_starts(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan, run = a_run(store, runbooks, config)
    revised = plan_for(runbooks, config, service="eckwms-global", ref="v1").model_copy(
        update={"task_id": plan.task_id + "~2"}
    )
    store.repo("plans").add(revised)
    runs = store.repo("runs")
    assert runs.replace_plan(run.id, revised, LATER)
    got = runs.get(run.id)
    assert got.task_id == revised.task_id and got.plan_hash == revised.sha256
    assert got.state == RunState.AWAITING_APPROVAL
    found = runs.for_task(plan.task_id)  # its revisions count as the task's
    assert found is not None and found.id == run.id
    assert runs.transition(run.id, RunState.APPROVED, LATER)
    assert runs.transition(run.id, RunState.QUEUED, LATER)
    assert runs.claim_next("a", LATER) is not None
    assert not runs.replace_plan(run.id, plan, LATER)  # running: the plan is what it is


def test_park_claim_heartbeat_cancel_and_rollback_requests(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    _plan, run = a_run(store, runbooks, config, RunState.QUEUED)
    runs = store.repo("runs")
    claimed = runs.claim_next("a", NOW)
    assert claimed is not None and claimed.id == run.id
    runs.park(run.id, "a", NOW, "prepare")
    parked = runs.get(run.id)
    assert parked.current_step == "prepare" and parked.owner is None
    assert runs.claim_parked(run.id, "b", LATER)
    assert not runs.claim_parked(run.id, "c", LATER)  # one process continues it
    assert runs.get(run.id).owner == "b"
    runs.heartbeat("b", LATER)
    assert runs.get(run.id).heartbeat_at == LATER
    runs.set_current_step(run.id, "pull", LATER)
    assert runs.get(run.id).current_step == "pull"
    runs.request_cancel(run.id)
    assert runs.get(run.id).cancel_requested
    runs.request_rollback(run.id)
    assert runs.get(run.id).rollback_requested


# -- approvals, steps, audit ------------------------------------------------------------
def test_an_approval_counts_once_per_user_hash_and_step(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan, run = a_run(store, runbooks, config)
    approvals = store.repo("approvals")
    a = ApprovalRecord(run.id, plan.sha256, "U_LEAD", ("lead",), None, NOW)
    assert approvals.add(a)
    assert not approvals.add(a)  # a double click
    gate = ApprovalRecord(run.id, plan.sha256, "U_LEAD", ("lead",), "go-ahead", NOW)
    assert approvals.add(gate)  # a gate's approval is another
    assert [(x.user, x.roles) for x in approvals.of_run(run.id)] == [("U_LEAD", ("lead",))]
    assert [x.step_id for x in approvals.of_run(run.id, "go-ahead")] == ["go-ahead"]
    assert approvals.approved_by("U_LEAD", [run.id, run.id + 1]) == {run.id: plan.sha256}
    assert approvals.approved_by("U_ARCH", [run.id]) == {}


def test_a_steps_output_is_kept_whole_and_paged_in_order(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    _plan, run = a_run(store, runbooks, config, RunState.QUEUED)
    steps = store.repo("steps")
    rec = steps.start(run.id, "main", "pull", "prod-1", NOW)
    chunks = [f"line {i}\n" * 100 for i in range(5)]
    for c in chunks:
        steps.append_output(rec, c)
    steps.finish(rec, StepState.SUCCEEDED, LATER, exit_code=0, tail="line 4", actor="bot")
    assert steps.output(rec) == "".join(chunks)
    first = steps.output_page(rec, 0, 2)
    rest = steps.output_page(rec, first[-1][0], 10)
    assert [c for _k, c in [*first, *rest]] == chunks and len(first) == 2
    assert steps.output_page(rec, rest[-1][0], 10) == []
    tail = steps.output_tail(rec, 2)  # the newest two, oldest first: what a live page shows
    assert [c for _k, c in tail] == chunks[-2:] and tail[0][0] < tail[1][0]
    assert len(steps.output_tail(rec, 50)) == 5
    [step] = steps.of_run(run.id)
    assert (step.state, step.exit_code, step.finished_at) == (StepState.SUCCEEDED, 0, LATER)
    assert step.tail == "line 4" and step.host == "prod-1" and step.phase == "main"


def test_the_audit_trail_keeps_every_row_in_order(store: Backend) -> None:
    audit = store.repo("audit")
    first = audit.append(AuditEvent(NOW, "U1", "plan.requested", 1, "t", "h", ""))
    second = audit.append(AuditEvent(LATER, "U2", "plan.approved", 1, "t", "h", "roles: lead"))
    audit.append(AuditEvent(LATER, "U3", "plan.requested", 2, "t2", "h2", ""))
    assert second > first
    assert [(e.actor, e.action) for e in audit.for_run(1)] == [
        ("U1", "plan.requested"),
        ("U2", "plan.approved"),
    ]
    assert [e.run_id for e in audit.recent(2)] == [2, 1]  # newest first
    assert audit.for_run(1)[1].detail == "roles: lead"


# -- post-mortems, agents, freezes --------------------------------------------------------
def test_a_postmortem_is_opened_once_reminded_once_per_count_and_completed(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    for _ in range(7):  # a post-mortem is of a run that exists: run 7
        a_run(store, runbooks, config)
    pms = store.repo("postmortems")
    pm = PostMortem(7, "eckwms-global", ("U_ONCALL",), NOW, NOW + timedelta(days=2))
    assert pms.open(pm)
    assert not pms.open(pm)
    assert [p.run_id for p in pms.pending()] == [7]
    assert pms.claim_reminder(7, 0, LATER)
    assert not pms.claim_reminder(7, 0, LATER)  # another replica sent it
    got = pms.get(7)
    assert got is not None and got.reminders_sent == 1 and got.last_reminded_at == LATER
    assert pms.snooze(7, LATER + timedelta(hours=1))
    assert pms.claim_escalation(7, LATER)
    assert not pms.claim_escalation(7, LATER)
    assert pms.complete(7, "U_ONCALL", {"why": "a typo"}, LATER)
    assert not pms.complete(7, "U_ONCALL", {"why": "again"}, LATER)
    done = pms.get(7)
    assert done is not None and done.author == "U_ONCALL" and done.answers == {"why": "a typo"}
    assert pms.pending() == [] and [p.run_id for p in pms.all("eckwms-global")] == [7]
    assert pms.get(8) is None and pms.all("other") == []
    nobody = PostMortem(99, "eckwms-global", ("U_ONCALL",), NOW, NOW + timedelta(days=2))
    assert not pms.open(nobody)  # no run 99: nothing to write a post-mortem about


def test_an_agent_is_found_by_its_token_hash_until_revoked(store: Backend) -> None:
    agents = store.repo("agents")
    coder = Agent("coder-1", "coder", ("eckwms-global",), (), "U_LEAD", NOW)
    assert agents.add(coder, "hash-1")
    assert not agents.add(coder, "hash-2")  # the name is taken
    found = agents.by_token_hash("hash-1")
    assert found is not None and found.name == "coder-1" and found.services == ("eckwms-global",)
    assert agents.by_token_hash("hash-2") is None
    assert [a.name for a in agents.all()] == ["coder-1"]
    assert agents.revoke("coder-1", LATER)
    assert not agents.revoke("coder-1", LATER)
    assert not agents.revoke("nobody", LATER)
    revoked = agents.get("coder-1")
    assert revoked is not None and revoked.revoked_at == LATER


def test_freezes_are_in_force_between_start_and_end_until_lifted(store: Backend) -> None:
    freezes = store.repo("freezes")
    one = freezes.add("eckwms-global", "release week", "U_LEAD", NOW, NOW + timedelta(hours=2))
    every = freezes.add(None, "incident", "U_LEAD", LATER, LATER + timedelta(hours=1))
    assert one != every
    assert [f.services for f in freezes.active(NOW)] == [("eckwms-global",)]
    assert {f.services for f in freezes.active(LATER)} == {("eckwms-global",), ()}
    assert {f.reason for f in freezes.active(LATER)} == {"release week", "incident"}
    assert freezes.active(NOW + timedelta(hours=3)) == []
    assert freezes.lift("eckwms-global", "U_LEAD", LATER) == 1
    assert [f.services for f in freezes.active(LATER)] == [()]
    assert freezes.lift("eckwms-global", "U_LEAD", LATER) == 0


# -- the outbox ----------------------------------------------------------------------------
def test_events_are_written_with_their_unit_of_work_and_read_in_order(
    store: Backend, runbooks: dict[str, Runbook], config: Config
) -> None:
    _plan, run = a_run(store, runbooks, config)
    with store.tx() as t:
        t.events.add(RunRequested(run))
        t.events.add(RunApproved(run, ("U_LEAD",)))
        # no commit: nothing was written
    assert store.events.head() == 0 and store.events.after(0) == []
    with store.tx() as t:
        t.events.add(RunRequested(run))
        t.events.add(RunApproved(run, ("U_LEAD",)))
        t.commit()
    with store.tx() as t:
        t.events.add(RunStarted(run))
        t.commit()
    stored = store.events.after(0)
    assert [type(s.event).__name__ for s in stored] == ["RunRequested", "RunApproved", "RunStarted"]
    assert [s.id for s in stored] == sorted(s.id for s in stored)
    assert store.events.head() == stored[-1].id
    assert store.events.after(stored[0].id, limit=1)[0].id == stored[1].id
    assert [s.id for s in store.events.of_run(run.id, stored[1].id)] == [stored[2].id]
    assert store.events.of_run(run.id + 1000) == []
    approved = stored[1].event
    assert isinstance(approved, RunApproved) and approved.approvers == ("U_LEAD",)


def test_a_consumer_is_held_by_one_holder_and_moves_only_forward(store: Backend) -> None:
    log = store.events
    assert log.lease("slack-thread", "a", NOW, LATER) == 0
    assert log.lease("slack-thread", "b", NOW, LATER) is None  # held by a
    assert log.advance("slack-thread", "a", 5)
    assert not log.advance("slack-thread", "b", 9)  # not b's to move
    assert log.lease("slack-thread", "a", NOW, LATER) == 5  # a renews, from where it was
    log.release("slack-thread", "a")
    assert log.lease("slack-thread", "b", NOW, LATER) == 5  # b takes over from there
    expired = LATER + timedelta(minutes=1)
    assert log.lease("slack-thread", "c", expired, expired + timedelta(minutes=1)) == 5
