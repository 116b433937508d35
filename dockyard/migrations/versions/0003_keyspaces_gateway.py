"""keyspaces, keys, permissions and roles, rate limit namespaces, gateway policies

Revision ID: 0003_keyspaces_gateway
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_keyspaces_gateway"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[int]]:
    return [
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "keyspaces",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("workspace_id", sa.String(length=64), sa.ForeignKey("workspaces.id")),
        sa.Column("name", sa.String(length=256), nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_keyspaces_workspace_id", "keyspaces", ["workspace_id"])
    op.create_table(
        "identities",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("workspace_id", sa.String(length=64), sa.ForeignKey("workspaces.id")),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("workspace_id", "external_id"),
    )
    op.create_table(
        "keys",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "keyspace_id",
            sa.String(length=64),
            sa.ForeignKey("keyspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("start", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column(
            "identity_id",
            sa.String(length=64),
            sa.ForeignKey("identities.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("credits_remaining", sa.BigInteger(), nullable=True),
        sa.Column("refill_interval", sa.String(length=16), nullable=True),
        sa.Column("refill_amount", sa.BigInteger(), nullable=True),
        sa.Column("refill_day", sa.Integer(), nullable=True),
        sa.Column("refilled_at", sa.BigInteger(), nullable=True),
        sa.Column("ratelimits", sa.JSON(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_keys_keyspace_created", "keys", ["keyspace_id", "created_at"])
    op.create_index("ix_keys_identity_id", "keys", ["identity_id"])
    op.create_table(
        "permissions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("workspace_id", sa.String(length=64), sa.ForeignKey("workspaces.id")),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("slug", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=2048), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("workspace_id", "slug"),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("workspace_id", sa.String(length=64), sa.ForeignKey("workspaces.id")),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("description", sa.String(length=2048), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    for table, left, right in (
        ("key_permissions", ("key_id", "keys"), ("permission_id", "permissions")),
        ("key_roles", ("key_id", "keys"), ("role_id", "roles")),
        ("role_permissions", ("role_id", "roles"), ("permission_id", "permissions")),
    ):
        op.create_table(
            table,
            *(
                sa.Column(
                    column,
                    sa.String(length=64),
                    sa.ForeignKey(f"{target}.id", ondelete="CASCADE"),
                    primary_key=True,
                )
                for column, target in (left, right)
            ),
        )
    op.create_table(
        "ratelimit_namespaces",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("workspace_id", sa.String(length=64), sa.ForeignKey("workspaces.id")),
        sa.Column("name", sa.String(length=512), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    op.create_table(
        "environment_gateways",
        sa.Column(
            "environment_id",
            sa.String(length=64),
            sa.ForeignKey("environments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("sentinel_replicas", sa.Integer(), nullable=True),
        *_timestamps(),
    )
    op.create_table(
        "deployment_policies",
        sa.Column(
            "deployment_id",
            sa.String(length=64),
            sa.ForeignKey("deployments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("policies", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "deployment_policies",
        "environment_gateways",
        "ratelimit_namespaces",
        "role_permissions",
        "key_roles",
        "key_permissions",
        "roles",
        "permissions",
        "keys",
        "identities",
        "keyspaces",
    ):
        op.drop_table(table)
