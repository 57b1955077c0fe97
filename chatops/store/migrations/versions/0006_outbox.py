"""The outbox: domain events and each consumer's position.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatops.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sqlite_autoincrement=True,  # ids never reused after a prune: positions stay true
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_run_id", "events", ["run_id"])
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("event_consumers")
    op.drop_index("ix_events_run_id", "events")
    op.drop_index("ix_events_at", "events")
    op.drop_table("events")
