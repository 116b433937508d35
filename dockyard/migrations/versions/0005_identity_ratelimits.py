"""identity rate limits: shared by every key of an identity (identities.*)

Revision ID: 0005_identity_ratelimits
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_identity_ratelimits"
down_revision = "0001"
branch_labels = None
# The identities table is made on the keyspaces branch.
depends_on = "0003_keyspaces_gateway"


def upgrade() -> None:
    with op.batch_alter_table("identities") as table:
        table.add_column(
            sa.Column("ratelimits", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("identities") as table:
        table.drop_column("ratelimits")
