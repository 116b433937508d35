"""Permissions and roles of a workspace, and which of them a key holds.

Permissions are named by slug (`documents.read`), roles by name; both by id as well.
keys.addPermissions and friends create a permission the workspace lacks when the root
key may create permissions, as Unkey does; a role must exist before a key gets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, delete, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.auth import Caller
from api.errors import Conflict, Forbidden, NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.rbac import ListRbac
from dockyard.ids import new_id
from dockyard.keyspaces import Key, KeyPermission, KeyRole, Permission, Role, RolePermission

CANNOT_CREATE = (
    "Permission '{slug}' does not exist, and your root key may not create permissions "
    "(it needs 'rbac.*.create_permission')."
)
NO_ROLE = "Role '{role}' does not exist in this workspace; create it with permissions.createRole."
NO_PERMISSION = "Permission '{permission}' does not exist in this workspace."
RowT = TypeVar("RowT")


def find_permission(session: Session, *, workspace_id: str, permission: str) -> Permission:
    row = session.scalar(
        select(Permission).where(
            Permission.workspace_id == workspace_id,
            or_(Permission.id == permission, Permission.slug == permission),
        )
    )
    if row is None:
        raise NotFound(NO_PERMISSION.format(permission=permission))
    return row


def find_role(session: Session, *, workspace_id: str, role: str) -> Role:
    row = session.scalar(
        select(Role).where(
            Role.workspace_id == workspace_id, or_(Role.id == role, Role.name == role)
        )
    )
    if row is None:
        raise NotFound(NO_ROLE.format(role=role))
    return row


def create_permission(
    session: Session, *, workspace_id: str, name: str, slug: str, description: str | None
) -> Permission:
    taken = session.scalar(
        select(Permission.id).where(
            Permission.workspace_id == workspace_id, Permission.slug == slug
        )
    )
    if taken is not None:
        raise Conflict(f"A permission with slug '{slug}' already exists in this workspace.")
    permission = Permission(
        id=new_id("permission"),
        workspace_id=workspace_id,
        name=name,
        slug=slug,
        description=description,
    )
    session.add(permission)
    session.flush()
    return permission


def create_role(
    session: Session,
    *,
    workspace_id: str,
    name: str,
    description: str | None,
    permissions: Sequence[str],
) -> Role:
    taken = session.scalar(
        select(Role.id).where(Role.workspace_id == workspace_id, Role.name == name)
    )
    if taken is not None:
        raise Conflict(f"A role named '{name}' already exists in this workspace.")
    role = Role(id=new_id("role"), workspace_id=workspace_id, name=name, description=description)
    session.add(role)
    session.flush()
    for permission in permissions:
        found = find_permission(session, workspace_id=workspace_id, permission=permission)
        session.add(RolePermission(role_id=role.id, permission_id=found.id))
    session.flush()
    return role


def list_permissions(
    session: Session, *, workspace_id: str, filters: ListRbac
) -> tuple[list[Permission], Pagination]:
    """By slug; `search` matches any part of the name or the slug."""
    return _search(
        session,
        select(Permission).where(Permission.workspace_id == workspace_id),
        filters,
        order=(Permission.slug, Permission.id),
        matching=(Permission.name, Permission.slug),
    )


def list_roles(
    session: Session, *, workspace_id: str, filters: ListRbac
) -> tuple[list[Role], Pagination]:
    """By name; `search` matches any part of the name."""
    return _search(
        session,
        select(Role).where(Role.workspace_id == workspace_id),
        filters,
        order=(Role.name, Role.id),
        matching=(Role.name,),
    )


def _search(
    session: Session,
    query: Select[RowT],
    filters: ListRbac,
    *,
    order: tuple[InstrumentedAttribute[str], InstrumentedAttribute[str]],
    matching: Sequence[InstrumentedAttribute[str]],
) -> tuple[list[RowT], Pagination]:
    """One page of `query` in `order` (a name, then the id), the cursor being that pair."""
    if filters.search:
        pattern = f"%{filters.search}%"
        query = query.where(or_(*(column.ilike(pattern) for column in matching)))
    if filters.cursor:
        after = decode_cursor(filters.cursor, kinds=(str, str))
        query = query.where(tuple_(*order) > tuple_(*after))
    rows = list(session.scalars(query.order_by(*order).limit(filters.limit + 1)))
    return page(
        rows,
        limit=filters.limit,
        cursor_of=lambda row: encode_cursor(*(getattr(row, column.key) for column in order)),
    )


def role_permissions(session: Session, role: Role) -> list[Permission]:
    return list(
        session.scalars(
            select(Permission)
            .join(RolePermission, RolePermission.permission_id == Permission.id)
            .where(RolePermission.role_id == role.id)
            .order_by(Permission.slug)
        )
    )


def replace_role_permissions(
    session: Session, role: Role, permissions: Sequence[Permission]
) -> None:
    """The role holds exactly `permissions`; the row lock makes two concurrent sets of one
    role end in one of the two sets, never a mix (SQLite serializes writers anyway)."""
    session.execute(select(Role.id).where(Role.id == role.id).with_for_update())
    wanted = {permission.id for permission in permissions}
    held = {permission.id for permission in role_permissions(session, role)}
    if held - wanted:
        session.execute(
            delete(RolePermission).where(
                RolePermission.role_id == role.id,
                RolePermission.permission_id.in_(held - wanted),
            )
        )
    for permission_id in sorted(wanted - held):
        session.add(RolePermission(role_id=role.id, permission_id=permission_id))
    session.flush()


def resolve_permissions(
    session: Session, *, caller: Caller, slugs: Sequence[str]
) -> list[Permission]:
    """The permissions named, creating missing ones when the caller may."""
    found: list[Permission] = []
    for slug in dict.fromkeys(slugs):
        permission = session.scalar(
            select(Permission).where(
                Permission.workspace_id == caller.workspace_id, Permission.slug == slug
            )
        )
        if permission is None:
            if not caller.allows("rbac.*.create_permission"):
                raise Forbidden(CANNOT_CREATE.format(slug=slug))
            permission = create_permission(
                session, workspace_id=caller.workspace_id, name=slug, slug=slug, description=None
            )
        found.append(permission)
    return found


def resolve_roles(session: Session, *, workspace_id: str, names: Sequence[str]) -> list[Role]:
    return [
        find_role(session, workspace_id=workspace_id, role=name) for name in dict.fromkeys(names)
    ]


def key_permissions(session: Session, key: Key) -> list[Permission]:
    return list(
        session.scalars(
            select(Permission)
            .join(KeyPermission, KeyPermission.permission_id == Permission.id)
            .where(KeyPermission.key_id == key.id)
            .order_by(Permission.slug)
        )
    )


def key_roles(session: Session, key: Key) -> list[Role]:
    return list(
        session.scalars(
            select(Role)
            .join(KeyRole, KeyRole.role_id == Role.id)
            .where(KeyRole.key_id == key.id)
            .order_by(Role.name)
        )
    )


def grant_permissions(session: Session, key: Key, permissions: Sequence[Permission]) -> None:
    held = {permission.id for permission in key_permissions(session, key)}
    for permission in permissions:
        if permission.id not in held:
            session.add(KeyPermission(key_id=key.id, permission_id=permission.id))
    session.flush()


def revoke_permissions(session: Session, key: Key, permissions: Sequence[Permission]) -> None:
    session.execute(
        delete(KeyPermission).where(
            KeyPermission.key_id == key.id,
            KeyPermission.permission_id.in_([permission.id for permission in permissions]),
        )
    )


def replace_permissions(session: Session, key: Key, permissions: Sequence[Permission]) -> None:
    session.execute(delete(KeyPermission).where(KeyPermission.key_id == key.id))
    grant_permissions(session, key, permissions)


def grant_roles(session: Session, key: Key, roles: Sequence[Role]) -> None:
    held = {role.id for role in key_roles(session, key)}
    for role in roles:
        if role.id not in held:
            session.add(KeyRole(key_id=key.id, role_id=role.id))
    session.flush()


def revoke_roles(session: Session, key: Key, roles: Sequence[Role]) -> None:
    session.execute(
        delete(KeyRole).where(KeyRole.key_id == key.id, KeyRole.role_id.in_([r.id for r in roles]))
    )


def replace_roles(session: Session, key: Key, roles: Sequence[Role]) -> None:
    session.execute(delete(KeyRole).where(KeyRole.key_id == key.id))
    grant_roles(session, key, roles)
