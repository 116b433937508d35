"""commit author and time of a deployment: who pushed what, shown beside the commit

Revision ID: 0007_commit_author
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_commit_author"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.add_column(sa.Column("git_commit_author", sa.String(length=255), nullable=True))
        table.add_column(
            sa.Column("git_commit_author_avatar_url", sa.String(length=2048), nullable=True)
        )
        table.add_column(sa.Column("git_commit_timestamp", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.drop_column("git_commit_timestamp")
        table.drop_column("git_commit_author_avatar_url")
        table.drop_column("git_commit_author")
