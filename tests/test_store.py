"""The SQL store on SQLite and on a real PostgreSQL (each built by `alembic upgrade head`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatops.engine.config import Config
from chatops.engine.run import ApprovalRecord, AuditEvent, RunState, StepState
from chatops.engine.runbook import Runbook
from chatops.errors import NotFound
from chatops.store.audit import SqlAuditLog
from chatops.store.db import make_engine
from chatops.store.runs import SqlRunStore
from tests.factories import NOW, plan_for


@pytest.fixture
def store(db_url: str) -> SqlRunStore:
    return SqlRunStore(make_engine(db_url))


def test_plan_round_trips_and_keeps_its_hash(
    store: SqlRunStore, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    store.save_plan(plan)
    assert store.load_plan(plan.task_id) == plan
    assert store.load_plan(plan.task_id).sha256 == plan.sha256
    with pytest.raises(NotFound):
        store.load_plan("nope")


def test_transitions_are_compare_and_set(
    store: SqlRunStore, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    store.save_plan(plan)
    run = store.create_run(plan, RunState.AWAITING_APPROVAL, NOW)
    assert not store.transition(run.id, RunState.RUNNING, NOW)  # must be queued first
    assert store.transition(run.id, RunState.APPROVED, NOW)
    assert not store.transition(run.id, RunState.APPROVED, NOW)  # second click: no-op
    assert store.transition(run.id, RunState.QUEUED, NOW)
    assert store.get_run(run.id).state == RunState.QUEUED
    assert store.get_run(run.id).created_at == NOW


def test_one_run_at_a_time_per_service_and_environment(
    store: SqlRunStore, runbooks: dict[str, Runbook], config: Config
) -> None:
    runs = []
    for env in ("production", "production", "staging"):
        plan = plan_for(runbooks, config, service="eckwms-global", environment=env)
        store.save_plan(plan)
        run = store.create_run(plan, RunState.QUEUED, NOW)
        runs.append(run)
    first = store.claim_next("a", NOW)
    assert first is not None and first.id == runs[0].id and first.state == RunState.RUNNING
    assert store.queue_position(runs[1].id) == 2
    second = store.claim_next("b", NOW)
    assert second is not None and second.id == runs[2].id  # staging is free
    assert store.claim_next("c", NOW) is None  # production is busy
    assert store.transition(runs[0].id, RunState.SUCCEEDED, NOW + timedelta(seconds=5))
    assert store.queue_position(runs[1].id) == 1
    third = store.claim_next("c", NOW)
    assert third is not None and third.id == runs[1].id and third.owner == "c"


def test_approvals_are_unique_per_user_and_hash(
    store: SqlRunStore, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    store.save_plan(plan)
    run = store.create_run(plan, RunState.AWAITING_APPROVAL, NOW)
    a = ApprovalRecord(run.id, plan.sha256, "U_LEAD", ("lead",), None, NOW)
    assert store.add_approval(a)
    assert not store.add_approval(a)
    assert [x.user for x in store.approvals(run.id)] == ["U_LEAD"]
    assert store.approvals(run.id)[0].roles == ("lead",)


def test_step_output_is_kept_whole(
    store: SqlRunStore, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    store.save_plan(plan)
    run = store.create_run(plan, RunState.QUEUED, NOW)
    rec = store.start_step(run.id, "main", "pull", "prod-1", NOW)
    chunks = [f"line {i}\n" * 1000 for i in range(5)]
    for c in chunks:
        store.append_output(rec, c)
    store.finish_step(rec, StepState.SUCCEEDED, NOW, exit_code=0, tail="line 4")
    assert store.output(rec) == "".join(chunks)
    [step] = store.steps(run.id)
    assert step.state == StepState.SUCCEEDED and step.exit_code == 0


def test_audit_trail_is_append_only(db_url: str) -> None:
    engine = make_engine(db_url)
    audit = SqlAuditLog(engine)
    event_id = audit.append(AuditEvent(NOW, "U1", "plan.approved", 1, "t", "h", "x"))
    assert [e.action for e in audit.for_run(1)] == ["plan.approved"]
    for sql in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError) as e, engine.begin() as c:
            c.execute(text(sql))
        assert "append-only" in str(e.value)
    assert audit.for_run(1)[0].actor == "U1" and audit.for_run(1)[0].id == event_id
