"""Workers: the processes that execute runs, with their heartbeats; a run's site; the people
an agent may act for.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatops.store.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(255), nullable=False, server_default=""),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index("ix_workers_beat_at", "workers", ["beat_at"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("site", sa.String(64), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("acts_for", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("acts_for")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("site")
    op.drop_index("ix_workers_beat_at", "workers")
    op.drop_table("workers")
