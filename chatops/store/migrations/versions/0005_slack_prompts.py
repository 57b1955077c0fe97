"""Thread messages with buttons for people, retired when their run ends.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_prompts",
        sa.Column("ts", sa.String(40), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
    )
    op.create_index("ix_slack_prompts_run_id", "slack_prompts", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_slack_prompts_run_id", "slack_prompts")
    op.drop_table("slack_prompts")
