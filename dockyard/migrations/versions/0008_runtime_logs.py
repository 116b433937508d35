"""runtime logs: what each app instance printed, and how it exited

Revision ID: 0008_runtime_logs
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_runtime_logs"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runtime_log_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "deployment_id",
            sa.String(length=64),
            sa.ForeignKey("deployments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("container_id", sa.String(length=128), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.UniqueConstraint(
            "container_id", "stream", "time_ns", "seq", name="uq_runtime_log_lines_line"
        ),
    )
    op.create_index(
        "ix_runtime_log_lines_deployment_time", "runtime_log_lines", ["deployment_id", "time_ns"]
    )
    op.create_index("ix_runtime_log_lines_time", "runtime_log_lines", ["time_ns"])


def downgrade() -> None:
    op.drop_index("ix_runtime_log_lines_time", table_name="runtime_log_lines")
    op.drop_index("ix_runtime_log_lines_deployment_time", table_name="runtime_log_lines")
    op.drop_table("runtime_log_lines")
