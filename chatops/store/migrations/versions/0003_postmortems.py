"""Post-mortems of hotfixes and their reminder state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatops.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "postmortems",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("service", sa.String(64)),
        sa.Column("owners", sa.String(400), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_reminded_at", UTCDateTime()),
        sa.Column("snoozed_until", UTCDateTime()),
        sa.Column("escalated_at", UTCDateTime()),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("author", sa.String(64)),
        sa.Column("answers", sa.Text(), nullable=False, server_default="{}"),
    )
    op.create_index("ix_postmortems_done_at", "postmortems", ["done_at"])


def downgrade() -> None:
    op.drop_table("postmortems")
