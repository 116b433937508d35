"""projects.*: a workspace-scoped group of apps."""

from __future__ import annotations

from api.schemas.base import Cursor, Input, Limit, Name, Output, ResourceIdentifier, Search, Slug
from dockyard.models import Project


class CreateProject(Input):
    name: Name
    slug: Slug


class ProjectRef(Input):
    project: ResourceIdentifier


class ListProjects(Input):
    limit: Limit = 100
    cursor: Cursor | None = None
    search: Search | None = None


class UpdateProject(Input):
    project: ResourceIdentifier
    slug: Slug | None = None
    name: Name | None = None
    delete_protection: bool | None = None


class ProjectCreated(Output):
    id: str


class ProjectOut(Output):
    id: str
    name: str
    slug: str
    created_at: int
    delete_protection: bool
    updated_at: int | None = None

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(
            id=project.id,
            name=project.name,
            slug=project.slug,
            created_at=project.created_at,
            delete_protection=project.delete_protection,
            updated_at=project.updated_at,
        )
