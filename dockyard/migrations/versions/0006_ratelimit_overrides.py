"""rate limit overrides: per-identifier limits of a namespace (ratelimit.setOverride)

Revision ID: 0006_ratelimit_overrides
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ratelimit_overrides"
down_revision = "0001"
branch_labels = None
# The ratelimit_namespaces table is made on the keyspaces branch.
depends_on = "0003_keyspaces_gateway"


def upgrade() -> None:
    op.create_table(
        "ratelimit_overrides",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "namespace_id",
            sa.String(length=64),
            sa.ForeignKey("ratelimit_namespaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("wildcard", sa.Boolean(), nullable=False),
        sa.Column("limit", sa.BigInteger(), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("namespace_id", "identifier"),
    )
    op.create_index(
        "ix_ratelimit_overrides_wildcards", "ratelimit_overrides", ["namespace_id", "wildcard"]
    )


def downgrade() -> None:
    op.drop_index("ix_ratelimit_overrides_wildcards", table_name="ratelimit_overrides")
    op.drop_table("ratelimit_overrides")
