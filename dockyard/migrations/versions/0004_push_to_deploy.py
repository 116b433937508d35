"""push to deploy: webhook deliveries, build log lines, the build queue

Revision ID: 0004_push_to_deploy
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_push_to_deploy"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "build_log_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=256), nullable=False),
        sa.Column("output", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_build_log_lines_deployment", "build_log_lines", ["deployment_id", "id"], unique=False
    )
    op.create_table(
        "build_queue",
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("production", sa.Boolean(), nullable=False),
        sa.Column("enqueued_at", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deployment_id"),
        sa.UniqueConstraint("slot"),
    )


def downgrade() -> None:
    op.drop_table("build_queue")
    op.drop_index("ix_build_log_lines_deployment", table_name="build_log_lines")
    op.drop_table("build_log_lines")
    op.drop_table("webhook_deliveries")
