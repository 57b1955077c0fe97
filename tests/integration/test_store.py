"""The SQL store on SQLite and on a real PostgreSQL (each built by `alembic upgrade head`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatops.engine.domain.run import ApprovalRecord, AuditEvent, RunState, StepState
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.unit_of_work import Transactions
from chatops.errors import NotFound
from chatops.store.db import make_engine
from tests.factories import NOW, Each, plan_for, sql


@pytest.fixture
def tx(db_url: str) -> Transactions:
    return sql(db_url)


def test_plan_round_trips_and_keeps_its_hash(
    tx: Transactions, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    Each(tx, "plans").add(plan)
    assert Each(tx, "plans").get(plan.task_id) == plan
    assert Each(tx, "plans").get(plan.task_id).sha256 == plan.sha256
    with pytest.raises(NotFound):
        Each(tx, "plans").get("nope")


def test_transitions_are_compare_and_set(
    tx: Transactions, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    Each(tx, "plans").add(plan)
    run = Each(tx, "runs").create(plan, RunState.AWAITING_APPROVAL, NOW)
    assert not Each(tx, "runs").transition(run.id, RunState.RUNNING, NOW)  # must be queued first
    assert Each(tx, "runs").transition(run.id, RunState.APPROVED, NOW)
    assert not Each(tx, "runs").transition(run.id, RunState.APPROVED, NOW)  # second click: no-op
    assert Each(tx, "runs").transition(run.id, RunState.QUEUED, NOW)
    assert Each(tx, "runs").get(run.id).state == RunState.QUEUED
    assert Each(tx, "runs").get(run.id).created_at == NOW


def test_one_run_at_a_time_per_service_and_environment(
    tx: Transactions, runbooks: dict[str, Runbook], config: Config
) -> None:
    runs = []
    for env in ("production", "production", "staging"):
        plan = plan_for(runbooks, config, service="eckwms-global", environment=env)
        Each(tx, "plans").add(plan)
        run = Each(tx, "runs").create(plan, RunState.QUEUED, NOW)
        runs.append(run)
    first = Each(tx, "runs").claim_next("a", NOW)
    assert first is not None and first.id == runs[0].id and first.state == RunState.RUNNING
    assert Each(tx, "runs").queue_position(runs[1].id) == 2
    second = Each(tx, "runs").claim_next("b", NOW)
    assert second is not None and second.id == runs[2].id  # staging is free
    assert Each(tx, "runs").claim_next("c", NOW) is None  # production is busy
    assert Each(tx, "runs").transition(runs[0].id, RunState.SUCCEEDED, NOW + timedelta(seconds=5))
    assert Each(tx, "runs").queue_position(runs[1].id) == 1
    third = Each(tx, "runs").claim_next("c", NOW)
    assert third is not None and third.id == runs[1].id and third.owner == "c"


def test_approvals_are_unique_per_user_and_hash(
    tx: Transactions, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    Each(tx, "plans").add(plan)
    run = Each(tx, "runs").create(plan, RunState.AWAITING_APPROVAL, NOW)
    a = ApprovalRecord(run.id, plan.sha256, "U_LEAD", ("lead",), None, NOW)
    assert Each(tx, "approvals").add(a)
    assert not Each(tx, "approvals").add(a)
    assert [x.user for x in Each(tx, "approvals").of_run(run.id)] == ["U_LEAD"]
    assert Each(tx, "approvals").of_run(run.id)[0].roles == ("lead",)


def test_step_output_is_kept_whole(
    tx: Transactions, runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config)
    Each(tx, "plans").add(plan)
    run = Each(tx, "runs").create(plan, RunState.QUEUED, NOW)
    rec = Each(tx, "steps").start(run.id, "main", "pull", "prod-1", NOW)
    chunks = [f"line {i}\n" * 1000 for i in range(5)]
    for c in chunks:
        Each(tx, "steps").append_output(rec, c)
    Each(tx, "steps").finish(rec, StepState.SUCCEEDED, NOW, exit_code=0, tail="line 4")
    assert Each(tx, "steps").output(rec) == "".join(chunks)
    [step] = Each(tx, "steps").of_run(run.id)
    assert step.state == StepState.SUCCEEDED and step.exit_code == 0


def test_audit_trail_is_append_only(db_url: str) -> None:
    engine = make_engine(db_url)
    audit = Each(sql(db_url), "audit")
    event_id = audit.append(AuditEvent(NOW, "U1", "plan.approved", 1, "t", "h", "x"))
    assert [e.action for e in audit.for_run(1)] == ["plan.approved"]
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError) as e, engine.begin() as c:
            c.execute(text(statement))
        assert "append-only" in str(e.value)
    assert audit.for_run(1)[0].actor == "U1" and audit.for_run(1)[0].id == event_id
