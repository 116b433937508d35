"""Keyspaces, keys and gateway policies: the schema behind Unkey's `apis.*`, `keys.*`,
`permissions.*`, `ratelimit.*` and `gateway.*`.

A key is stored only as the SHA-256 hash of its secret (dockyard.keys.hash_key) and the
first characters a person needs to tell keys apart. Permissions are granted to keys
directly or through roles. Policies are edited per environment (EnvironmentGateway) and
copied into every deployment when it is created (DeploymentPolicies): a deployment is
immutable, so changing policies takes effect with the next deployment, like any setting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dockyard.models import Base, Deployment, Timestamps


class Keyspace(Timestamps, Base):
    """What Unkey's API calls an "api": a namespace of keys (`api_...`)."""

    __tablename__ = "keyspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))


class Identity(Timestamps, Base):
    """Who a key belongs to in the customer's system (`externalId`)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    meta: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # [{"id", "name", "limit", "duration", "autoApply"}]: counted once for all its keys.
    ratelimits: Mapped[list[Any]] = mapped_column(default=list)


class Key(Timestamps, Base):
    __tablename__ = "keys"
    __table_args__ = (Index("ix_keys_keyspace_created", "keyspace_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    keyspace_id: Mapped[str] = mapped_column(ForeignKey("keyspaces.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    start: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    identity_id: Mapped[str | None] = mapped_column(
        ForeignKey("identities.id", ondelete="SET NULL"), index=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    # NULL: unlimited usage. Otherwise spent atomically by every verification that costs.
    credits_remaining: Mapped[int | None] = mapped_column(BigInteger)
    refill_interval: Mapped[str | None] = mapped_column(String(16))  # daily | monthly
    refill_amount: Mapped[int | None] = mapped_column(BigInteger)
    refill_day: Mapped[int | None] = mapped_column()
    refilled_at: Mapped[int | None] = mapped_column(BigInteger)
    # [{"id", "name", "limit", "duration", "autoApply"}], as keys.createKey takes them.
    ratelimits: Mapped[list[Any]] = mapped_column(default=list)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)


class Permission(Timestamps, Base):
    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(512))
    slug: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(2048))


class Role(Timestamps, Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(String(2048))


class KeyPermission(Base):
    __tablename__ = "key_permissions"

    key_id: Mapped[str] = mapped_column(ForeignKey("keys.id", ondelete="CASCADE"), primary_key=True)
    permission_id: Mapped[str] = mapped_column(
        ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True
    )


class KeyRole(Base):
    __tablename__ = "key_roles"

    key_id: Mapped[str] = mapped_column(ForeignKey("keys.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    permission_id: Mapped[str] = mapped_column(
        ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True
    )


class RatelimitNamespace(Timestamps, Base):
    """`ratelimit.limit` namespaces, made on first use so permissions can name their id."""

    __tablename__ = "ratelimit_namespaces"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(512))


class RatelimitOverride(Timestamps, Base):
    """A limit and duration that replace the ones `ratelimit.limit` is asked for, for one
    identifier of a namespace or, with `*` in it, for every identifier it matches."""

    __tablename__ = "ratelimit_overrides"
    __table_args__ = (
        UniqueConstraint("namespace_id", "identifier"),
        # ratelimit.limit reads the exact override and the wildcard ones in one query.
        Index("ix_ratelimit_overrides_wildcards", "namespace_id", "wildcard"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(
        ForeignKey("ratelimit_namespaces.id", ondelete="CASCADE")
    )
    identifier: Mapped[str] = mapped_column(String(255))
    wildcard: Mapped[bool] = mapped_column()  # whether `identifier` holds a `*`
    limit: Mapped[int] = mapped_column(BigInteger)
    duration: Mapped[int] = mapped_column(BigInteger)


class EnvironmentGateway(Timestamps, Base):
    """An environment's gateway: its policies (for its next deployments) and its Sentinel."""

    __tablename__ = "environment_gateways"

    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True
    )
    # The policies in evaluation order, each with its server-made "id" (api.schemas.gateway).
    policies: Mapped[list[Any]] = mapped_column(default=list)
    # Sentinel replicas per region when more than the kind's default (3 production, 1 preview).
    sentinel_replicas: Mapped[int | None] = mapped_column()


class DeploymentPolicies(Base):
    """The policies a deployment was created with; what its Sentinel replicas enforce."""

    __tablename__ = "deployment_policies"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    policies: Mapped[list[Any]] = mapped_column(default=list)


def freeze_policies(session: Session, deployment: Deployment) -> None:
    """Copy the environment's current policies into a new deployment."""
    policies = session.scalar(
        select(EnvironmentGateway.policies).where(
            EnvironmentGateway.environment_id == deployment.environment_id
        )
    )
    session.add(DeploymentPolicies(deployment_id=deployment.id, policies=list(policies or [])))
