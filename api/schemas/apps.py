"""apps.*: one deployable service inside a project."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints, model_validator

from api.image_reference import check_image_reference
from api.schemas.base import Cursor, Input, Limit, Name, Output, ResourceIdentifier, Search, Slug
from dockyard.models import App

NOT_A_REPOSITORY = "{name!r} is not GitHub's `owner/name`: `.` and `..` name no repository"
NOT_A_BRANCH = "{name!r} is not a branch name git accepts: {reason}"
# git check-ref-format's rules for a branch, each with what it forbids.
_BRANCH_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\x00-\x20\x7f~^:?*\[\\]"), "no spaces, control characters or ~^:?*[\\"),
    (re.compile(r"\.\."), "no `..`"),
    (re.compile(r"@\{|^@$"), "no `@{` and not `@` alone"),
    (re.compile(r"^[-/]|/$|//"), "no leading `-` or `/`, no trailing `/`, no `//`"),
    (re.compile(r"(^|/)\.|\.lock(/|$)"), "no part starting with `.` or ending in `.lock`"),
    (re.compile(r"\.$"), "no `.` at the end"),
)


def _check_repository(name: str) -> str:
    if any(part in (".", "..") for part in name.split("/")):
        raise ValueError(NOT_A_REPOSITORY.format(name=name))
    return name


def _check_branch(name: str) -> str:
    for rule, reason in _BRANCH_RULES:
        if rule.search(name):
            raise ValueError(NOT_A_BRANCH.format(name=name, reason=reason))
    return name


Repository = Annotated[
    str,
    StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$"),
    AfterValidator(_check_repository),
]
# Checked as git itself would: a branch name reaches git's command line and hostnames.
Branch = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_check_branch)
]


class AppGitIn(Input):
    """Unkey: `{}` creates a git app whose repository is connected later."""

    repository: Repository | None = None
    default_branch: Branch | None = None


ONE_SOURCE = "set exactly one source: `git` (a repository, or `{}` to connect one later) or `oci`"
NOTHING_TO_UPDATE = "send at least one field to change: name, slug, git, oci or deleteProtection"
GIT_UPDATE_EMPTY = "git needs `repository`, `defaultBranch` or both; send null to disconnect"
CANNOT_BE_NULL = "{field} cannot be null; leave it out to keep the current value"


class AppOciIn(Input):
    image: Annotated[str, AfterValidator(check_image_reference)]


class CreateApp(Input):
    """Without a source, dockyard creates a git app whose repository is connected later."""

    project: ResourceIdentifier
    name: Name
    slug: Slug
    git: AppGitIn | None = None
    oci: AppOciIn | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CreateApp:
        if self.git is not None and self.oci is not None:
            raise ValueError(ONE_SOURCE)
        return self


class AppGitUpdateIn(Input):
    repository: Repository | None = None
    default_branch: Branch | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> AppGitUpdateIn:
        if self.repository is None and self.default_branch is None:
            raise ValueError(GIT_UPDATE_EMPTY)
        return self


class UpdateApp(Input):
    """Omitted fields stay as they are; `git: null` disconnects the repository."""

    project: ResourceIdentifier
    app: ResourceIdentifier
    name: Name | None = None
    slug: Slug | None = None
    git: AppGitUpdateIn | None = None
    oci: AppOciIn | None = None
    delete_protection: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateApp:
        changes = self.model_fields_set - {"project", "app"}
        if not changes:
            raise ValueError(NOTHING_TO_UPDATE)
        for field in changes - {"git"}:
            if getattr(self, field) is None:
                alias = type(self).model_fields[field].alias or field
                raise ValueError(CANNOT_BE_NULL.format(field=alias))
        return self


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


class AppOciOut(Output):
    image: str


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
    oci: AppOciOut | None = None
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
            source_type="oci" if app.image else "git",
            git=git,
            oci=AppOciOut(image=app.image) if app.image else None,
            current_deployment_id=current_deployment_id,
        )
