"""control plane: OCI apps, custom domain verification, root key lifecycle

Revision ID: 0002_control_plane
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_control_plane"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as apps:
        apps.add_column(sa.Column("image", sa.String(length=1024), nullable=True))
    with op.batch_alter_table("domains") as domains:
        domains.add_column(sa.Column("verification_token", sa.String(length=64), nullable=True))
        domains.add_column(sa.Column("verification_error", sa.String(length=1024), nullable=True))
        domains.add_column(sa.Column("verification_started_at", sa.BigInteger(), nullable=True))
        domains.add_column(
            sa.Column("routing_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("root_keys") as root_keys:
        root_keys.add_column(
            sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        root_keys.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        root_keys.add_column(
            sa.Column("end", sa.String(length=8), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("root_keys") as root_keys:
        root_keys.drop_column("end")
        root_keys.drop_column("expires_at")
        root_keys.drop_column("enabled")
    with op.batch_alter_table("domains") as domains:
        domains.drop_column("routing_verified")
        domains.drop_column("verification_started_at")
        domains.drop_column("verification_error")
        domains.drop_column("verification_token")
    with op.batch_alter_table("apps") as apps:
        apps.drop_column("image")
