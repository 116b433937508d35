"""permissions.* and the keys.* operations that grant them: Unkey's RBAC bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from api.schemas.base import Cursor, Input, Limit, Output, Search
from api.schemas.keys import Id, PermissionSlug, RoleName

Description = Annotated[str, StringConstraints(max_length=2048)]
RoleIdentifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
ROLE_MISSING = "name the role by `role` (its id or name)"
ROLE_TWICE = "`role` and `roleId` name different roles; send only `role`"


class CreatePermission(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    slug: PermissionSlug
    description: Description | None = None


class PermissionRef(Input):
    permission: Annotated[str, StringConstraints(min_length=3, max_length=512)]


class CreateRole(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    description: Description | None = None
    permissions: Annotated[list[str], Field(max_length=1000)] | None = None


class RoleRef(Input):
    role: RoleIdentifier


class SetRolePermissions(Input):
    """`role` is the current name of the field; SDKs that predate it send `roleId`."""

    role: RoleIdentifier | None = None
    role_id: RoleIdentifier | None = None
    permissions: Annotated[list[PermissionSlug], Field(max_length=1000)]

    @model_validator(mode="after")
    def _one_role(self) -> SetRolePermissions:
        if self.role is None and self.role_id is None:
            raise ValueError(ROLE_MISSING)
        if None not in (self.role, self.role_id) and self.role != self.role_id:
            raise ValueError(ROLE_TWICE)
        return self

    @property
    def named_role(self) -> str:
        return self.role or self.role_id or ""


class ListRbac(Input):
    limit: Limit = 100
    cursor: Cursor | None = None
    search: Search | None = None


class KeyPermissions(Input):
    key_id: Id
    permissions: Annotated[list[PermissionSlug], Field(max_length=1000)]


class KeyRoles(Input):
    key_id: Id
    roles: Annotated[list[RoleName], Field(max_length=100)]


class PermissionCreated(Output):
    permission_id: str


class RoleCreated(Output):
    role_id: str


class PermissionOut(Output):
    id: str
    name: str
    slug: str
    description: str | None = None


class RoleOut(Output):
    id: str
    name: str
    description: str | None = None
    permissions: list[PermissionOut] | None = None
