"""The database schema: the same nouns as Unkey's v2 API."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now_ms() -> int:
    return int(time.time() * 1000)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamps:
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int | None] = mapped_column(BigInteger, onupdate=now_ms)


class Workspace(Timestamps, Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))


class Project(Timestamps, Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(256))
    delete_protection: Mapped[bool] = mapped_column(default=False)


class App(Timestamps, Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(256))
    git_repository: Mapped[str | None] = mapped_column(String(1024))
    default_branch: Mapped[str] = mapped_column(String(256), default="main")
    current_deployment_id: Mapped[str | None] = mapped_column(String(64))
    is_rolled_back: Mapped[bool] = mapped_column(default=False)
    delete_protection: Mapped[bool] = mapped_column(default=False)
    # An OCI app's default image (apps.createApp `oci`); NULL for a git app.
    image: Mapped[str | None] = mapped_column(String(1024))


class Environment(Timestamps, Base):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("app_id", "slug"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # production | preview
    description: Mapped[str] = mapped_column(String(1024), default="")
    branch: Mapped[str | None] = mapped_column(String(256))
    runtime: Mapped[dict[str, Any]] = mapped_column(default=dict)
    build: Mapped[dict[str, Any]] = mapped_column(default=dict)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    current_deployment_id: Mapped[str | None] = mapped_column(String(64))
    delete_protection: Mapped[bool] = mapped_column(default=False)
    # A preview only: a request to one of its stopped deployments starts it (sentinel.wake).
    wake_on_request: Mapped[bool] = mapped_column(default=True)


class EnvironmentVariable(Timestamps, Base):
    __tablename__ = "environment_variables"
    __table_args__ = (UniqueConstraint("environment_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16), default="writeonly")
    description: Mapped[str | None] = mapped_column(String(1024))
    value_encrypted: Mapped[bytes] = mapped_column(LargeBinary)


class Deployment(Timestamps, Base):
    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_env_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    trigger: Mapped[str] = mapped_column(String(32), default="api")
    source: Mapped[str] = mapped_column(String(16))  # image | git
    image: Mapped[str | None] = mapped_column(String(1024))
    image_digest: Mapped[str | None] = mapped_column(String(256))
    git_repository: Mapped[str | None] = mapped_column(String(1024))
    git_branch: Mapped[str | None] = mapped_column(String(256))
    git_commit_sha: Mapped[str | None] = mapped_column(String(64))
    git_commit_message: Mapped[str | None] = mapped_column(String(4096))
    git_commit_author: Mapped[str | None] = mapped_column(String(255))  # a GitHub login
    git_commit_author_avatar_url: Mapped[str | None] = mapped_column(String(2048))
    git_commit_timestamp: Mapped[int | None] = mapped_column(BigInteger)  # ms, when authored
    # Frozen at creation: later settings changes apply only to later deployments.
    runtime: Mapped[dict[str, Any]] = mapped_column(default=dict)
    build: Mapped[dict[str, Any]] = mapped_column(default=dict)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    variables_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_step: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(String(4096))
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    stopped_at: Mapped[int | None] = mapped_column(BigInteger)


class DeploymentStep(Base):
    __tablename__ = "deployment_steps"
    __table_args__ = (UniqueConstraint("deployment_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(
        String(32)
    )  # queued | building | deploying | network | finalizing
    status: Mapped[str] = mapped_column(String(16))  # running | completed | failed | skipped
    message: Mapped[str | None] = mapped_column(String(4096))
    started_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class Instance(Timestamps, Base):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    environment_id: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(64))
    container_name: Mapped[str] = mapped_column(String(255), unique=True)
    container_id: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(255))  # host:port the edge dials
    status: Mapped[str] = mapped_column(String(16), default="starting")  # starting|healthy|stopped


class Domain(Timestamps, Base):
    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    branch: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="verified")
    # Custom domains only: the TXT proof of ownership and how checking it went.
    verification_token: Mapped[str | None] = mapped_column(String(64))
    verification_error: Mapped[str | None] = mapped_column(String(1024))
    verification_started_at: Mapped[int | None] = mapped_column(BigInteger)
    routing_verified: Mapped[bool] = mapped_column(default=False)


class RootKey(Timestamps, Base):
    __tablename__ = "root_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str | None] = mapped_column(String(256))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    start: Mapped[str] = mapped_column(String(32))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    end: Mapped[str] = mapped_column(String(8), default="")  # last characters, for display


class WebhookDelivery(Base):
    """A GitHub delivery already acted on: a replay of its id changes nothing."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # X-GitHub-Delivery
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class BuildLogLine(Base):
    """One line a build printed, written the moment it was printed; read by id order."""

    __tablename__ = "build_log_lines"
    __table_args__ = (Index("ix_build_log_lines_deployment", "deployment_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    step_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(256), default="")
    output: Mapped[str] = mapped_column(String(8), default="stdout")  # stdout | stderr
    message: Mapped[str] = mapped_column(Text)


class BuildQueueEntry(Base):
    """A git deployment waiting for a build slot, or holding one (`slot` set).

    At most `build_concurrency` rows hold a slot: the slot number is unique. `seen_at` is
    touched while the deployment waits or builds, so an entry whose workflow is gone
    stops blocking the queue.
    """

    __tablename__ = "build_queue"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    production: Mapped[bool] = mapped_column(default=False)
    enqueued_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    slot: Mapped[int | None] = mapped_column(unique=True)


class RuntimeLogLine(Base):
    """One line an app instance printed, stamped by Docker; or the instance's exit.

    A line is known by its container, stream, Docker timestamp and its rank among the
    stream's lines of the same timestamp (`seq`): reading a stream again from any earlier
    point yields the same keys, so a resumed capture stores each line once.
    """

    __tablename__ = "runtime_log_lines"
    __table_args__ = (
        Index("ix_runtime_log_lines_deployment_time", "deployment_id", "time_ns"),
        Index("ix_runtime_log_lines_time", "time_ns"),
        UniqueConstraint(
            "container_id", "stream", "time_ns", "seq", name="uq_runtime_log_lines_line"
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    environment_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    container_id: Mapped[str] = mapped_column(String(128))
    stream: Mapped[str] = mapped_column(String(8))  # stdout | stderr | event
    time_ns: Mapped[int] = mapped_column(BigInteger)  # Docker's timestamp of the line
    seq: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)  # set on an `event` line of exit
