"""What a remembered prompt is about: the run (retired when it ends) or its post-mortem
(Write and Snooze: retired when it is written).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_prompts") as batch:
        batch.add_column(sa.Column("about", sa.String(20), nullable=False, server_default="run"))


def downgrade() -> None:
    with op.batch_alter_table("slack_prompts") as batch:
        batch.drop_column("about")
