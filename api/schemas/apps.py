"""apps.*: one deployable service inside a project."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from api.schemas.base import Cursor, Input, Limit, Name, Output, ResourceIdentifier, Search, Slug
from dockyard.models import App

Repository = Annotated[
    str, StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")
]
Branch = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\s]+$")]


class AppGitIn(Input):
    """Unkey: `{}` creates a git app whose repository is connected later."""

    repository: Repository | None = None
    default_branch: Branch | None = None


class AppOciIn(Input):
    image: str


class CreateApp(Input):
    project: ResourceIdentifier
    name: Name
    slug: Slug
    git: AppGitIn | None = None
    oci: AppOciIn | None = None


class AppRef(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier


class ListApps(Input):
    project: ResourceIdentifier
    limit: Limit = 100
    cursor: Cursor | None = None
    search: Search | None = None


class AppCreated(Output):
    app_id: str


class AppGitOut(Output):
    repository: str
    default_branch: str | None = None


class AppOut(Output):
    id: str
    name: str
    slug: str
    is_rolled_back: bool
    delete_protection: bool
    created_at: int
    updated_at: int | None = None
    source_type: Literal["git", "oci"] | None = None
    git: AppGitOut | None = None
    current_deployment_id: str | None = None

    @classmethod
    def of(cls, app: App, *, current_deployment_id: str | None) -> AppOut:
        git = (
            AppGitOut(repository=app.git_repository, default_branch=app.default_branch)
            if app.git_repository
            else None
        )
        return cls(
            id=app.id,
            name=app.name,
            slug=app.slug,
            is_rolled_back=app.is_rolled_back,
            delete_protection=app.delete_protection,
            created_at=app.created_at,
            updated_at=app.updated_at,
            source_type="git" if git else None,
            git=git,
            current_deployment_id=current_deployment_id,
        )
