"""The unit of work: nothing is written unless it is committed; a refusal's audit row is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatops.engine.domain import events as ev
from chatops.engine.domain.run import AuditEvent, RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.errors import PermissionDenied
from tests.factories import plan_for
from tests.memory import MemoryDatabase

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def row(action: str) -> AuditEvent:
    return AuditEvent(NOW, "U_LEAD", action)


def test_a_block_left_without_commit_writes_nothing(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    uow = db.transactions(None)  # type: ignore[arg-type]
    woken: list[int] = []
    uow.on_commit(lambda: woken.append(db.commits))
    with uow() as t:
        t.plans.add(plan_for(runbooks, config))
        t.audit.append(row("plan.requested"))
    assert db.state.plans == {} and db.state.audit == [] and db.commits == 0
    assert woken == []
    with uow() as t:
        plan = plan_for(runbooks, config)
        t.plans.add(plan)
        run = t.runs.create(plan, RunState.AWAITING_APPROVAL, NOW)
        t.events.add(ev.RunRequested(run))
        t.commit()
    assert list(db.state.plans) == [plan.task_id] and db.commits == 1
    assert woken == [1]  # the outbox's workers were woken once, after the commit


def test_a_refusal_rolls_back_all_but_the_row_it_keeps(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    db = MemoryDatabase()
    uow = db.transactions(None)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied), uow() as t:
        t.plans.add(plan_for(runbooks, config))
        t.audit.append(row("plan.requested"))  # stands or falls with the unit: falls
        t.keep(row("denied.approve"))
        raise PermissionDenied("four-eyes")
    assert db.state.plans == {}
    assert [e.action for e in db.state.audit] == ["denied.approve"]
    with uow() as t:  # committed: the kept row goes with the rest, once
        t.audit.append(row("plan.approved"))
        t.keep(row("denied.gate"))
        t.commit()
    assert [e.action for e in db.state.audit] == ["denied.approve", "plan.approved", "denied.gate"]


def test_an_error_after_a_commit_keeps_what_was_committed() -> None:
    db = MemoryDatabase()
    uow = db.transactions(None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="later"), uow() as t:
        t.audit.append(row("run.queued"))
        t.commit()
        raise RuntimeError("later")
    assert [e.action for e in db.state.audit] == ["run.queued"]
    with pytest.raises(RuntimeError, match="committed already"), uow() as t:
        t.commit()
        t.commit()


def test_a_unit_opened_inside_another_is_refused() -> None:
    db = MemoryDatabase()
    uow = db.transactions(None)  # type: ignore[arg-type]
    with uow() as outer:
        outer.audit.append(row("outer"))
        with pytest.raises(RuntimeError, match="open on this thread"), uow():
            pass
        outer.commit()
    assert [e.action for e in db.state.audit] == ["outer"]
    with uow() as again:  # the refused one left nothing open behind it
        assert again.audit.recent() != []
