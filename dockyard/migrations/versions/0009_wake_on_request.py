"""wake on request: whether a request to a stopped preview deployment starts it

Revision ID: 0009_wake_on_request
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_wake_on_request"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as table:
        table.add_column(
            sa.Column("wake_on_request", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("environments") as table:
        table.drop_column("wake_on_request")
