"""What only the SQL store holds, on SQLite and on a real PostgreSQL (each built by `alembic
upgrade head`): the audit trail refuses UPDATE and DELETE in the database itself. The
repositories' contract, shared with the in-memory fakes, is test_repository_contract.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chatops.engine.domain.run import AuditEvent
from chatops.store.db import make_engine
from tests.factories import NOW, Each, sql


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
