"""People who opened the App Home.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatops.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "home_users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("home_users")
