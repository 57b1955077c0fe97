"""The audit trail as a hash chain: prev_hash and hash on every row, existing rows chained
in id order (the append-only triggers are lifted for that, and only that, then restored).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from chatops.store.audit_chain import GENESIS, canonical, link

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = "the audit trail is append-only"


def _drop_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit_events")


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_no_{verb.lower()} BEFORE {verb} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION chatops_audit_append_only()"
        )


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _drop_triggers(dialect)
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(64), nullable=True))
    rows = bind.execute(
        sa.text(
            "SELECT id, at, actor, action, run_id, task_id, plan_hash, detail "
            "FROM audit_events ORDER BY id"
        )
    ).all()
    prev = GENESIS
    for r in rows:
        when = r[1] if isinstance(r[1], datetime) else datetime.fromisoformat(str(r[1]))
        digest = link(prev, canonical(when, r[2], r[3], r[4], r[5], r[6], r[7] or ""))
        bind.execute(
            sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
            {"p": prev, "h": digest, "i": r[0]},
        )
        prev = digest
    _create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    _create_triggers(dialect)
