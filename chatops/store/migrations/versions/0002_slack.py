"""Slack: handled deliveries (idempotency) and where each run's messages are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatops.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "slack_messages",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("plan_ts", sa.String(40), nullable=False),
        sa.Column("status_ts", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("slack_messages")
    op.drop_table("deliveries")
