"""permissions.create/get/list/deletePermission, create/get/list/deleteRole and
setRolePermissions: the RBAC that keys need. Deleting one, or changing what a role grants,
changes what many keys hold, so every replica drops every cached key (`all`)."""

from __future__ import annotations

from api.crud import rbac
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.redis_deps import RedisDep
from api.routes import resource_router
from api.routes.key_permissions import permission_out, role_out
from api.schemas.base import Empty, Envelope, Page
from api.schemas.rbac import (
    CreatePermission,
    CreateRole,
    ListRbac,
    PermissionCreated,
    PermissionOut,
    PermissionRef,
    RoleCreated,
    RoleOut,
    RoleRef,
    SetRolePermissions,
)
from dockyard import key_events

router = resource_router("permissions")


@router.post("/v2/permissions.createPermission")
def create_permission(
    body: CreatePermission, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[PermissionCreated]:
    caller.require("rbac", "create_permission")
    permission = rbac.create_permission(
        session,
        workspace_id=caller.workspace_id,
        name=body.name,
        slug=body.slug,
        description=body.description,
    )
    session.commit()
    return Envelope(meta=meta, data=PermissionCreated(permission_id=permission.id))


@router.post("/v2/permissions.getPermission")
def get_permission(
    body: PermissionRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[PermissionOut]:
    caller.require("rbac", "read_permission")
    permission = rbac.find_permission(
        session, workspace_id=caller.workspace_id, permission=body.permission
    )
    return Envelope(meta=meta, data=permission_out(permission))


@router.post("/v2/permissions.listPermissions")
def list_permissions(
    body: ListRbac, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[PermissionOut]:
    caller.require("rbac", "read_permission")
    kept, pagination = rbac.list_permissions(
        session, workspace_id=caller.workspace_id, filters=body
    )
    return Page(meta=meta, data=[permission_out(p) for p in kept], pagination=pagination)


@router.post("/v2/permissions.deletePermission")
def delete_permission(
    body: PermissionRef, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    caller.require("rbac", "delete_permission")
    permission = rbac.find_permission(
        session, workspace_id=caller.workspace_id, permission=body.permission
    )
    session.delete(permission)
    session.commit()
    key_events.publish(redis, key_events.ALL)
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/permissions.createRole")
def create_role(
    body: CreateRole, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[RoleCreated]:
    caller.require("rbac", "create_role")
    role = rbac.create_role(
        session,
        workspace_id=caller.workspace_id,
        name=body.name,
        description=body.description,
        permissions=body.permissions or [],
    )
    session.commit()
    return Envelope(meta=meta, data=RoleCreated(role_id=role.id))


@router.post("/v2/permissions.getRole")
def get_role(
    body: RoleRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[RoleOut]:
    caller.require("rbac", "read_role")
    role = rbac.find_role(session, workspace_id=caller.workspace_id, role=body.role)
    return Envelope(meta=meta, data=role_out(session, role))


@router.post("/v2/permissions.listRoles")
def list_roles(
    body: ListRbac, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[RoleOut]:
    caller.require("rbac", "read_role")
    kept, pagination = rbac.list_roles(session, workspace_id=caller.workspace_id, filters=body)
    return Page(meta=meta, data=[role_out(session, r) for r in kept], pagination=pagination)


@router.post("/v2/permissions.deleteRole")
def delete_role(
    body: RoleRef, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    caller.require("rbac", "delete_role")
    role = rbac.find_role(session, workspace_id=caller.workspace_id, role=body.role)
    session.delete(role)
    session.commit()
    key_events.publish(redis, key_events.ALL)
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/permissions.setRolePermissions")
def set_role_permissions(
    body: SetRolePermissions,
    session: SessionDep,
    caller: RootKeyDep,
    redis: RedisDep,
    meta: MetaDep,
) -> Envelope[list[PermissionOut]]:
    caller.require("rbac", "add_permission_to_role")
    caller.require("rbac", "remove_permission_from_role")
    role = rbac.find_role(session, workspace_id=caller.workspace_id, role=body.named_role)
    permissions = rbac.resolve_permissions(session, caller=caller, slugs=body.permissions)
    rbac.replace_role_permissions(session, role, permissions)
    session.commit()
    # Every key holding the role now holds other permissions.
    key_events.publish(redis, key_events.ALL)
    return Envelope(
        meta=meta, data=[permission_out(p) for p in rbac.role_permissions(session, role)]
    )
