"""keys.addPermissions / removePermissions / setPermissions and the same for roles.

Each answers with everything the key holds directly afterwards, and announces the change
to the gateway replicas, which drop the key from their caches.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Caller
from api.crud import keys as crud
from api.crud import rbac
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.redis_deps import RedisDep
from api.routes import resource_router
from api.schemas.base import Envelope
from api.schemas.rbac import KeyPermissions, KeyRoles, PermissionOut, RoleOut
from dockyard import key_events
from dockyard.keyspaces import Key, Permission, Role
from dockyard.models import now_ms

router = resource_router("keys")


def permission_out(permission: Permission) -> PermissionOut:
    return PermissionOut(
        id=permission.id,
        name=permission.name,
        slug=permission.slug,
        description=permission.description,
    )


def role_out(session: Session, role: Role) -> RoleOut:
    return RoleOut(
        id=role.id,
        name=role.name,
        description=role.description,
        permissions=[permission_out(p) for p in rbac.role_permissions(session, role)],
    )


def _key(session: Session, caller: Caller, key_id: str) -> Key:
    key = crud.find_key(session, workspace_id=caller.workspace_id, key_id=key_id)
    crud.require(caller, "update_key", key.keyspace_id, key.id)
    return key


def _done_permissions(
    session: Session, key: Key, redis: RedisDep, meta: MetaDep
) -> Envelope[list[PermissionOut]]:
    key.updated_at = now_ms()
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=[permission_out(p) for p in rbac.key_permissions(session, key)])


def _done_roles(
    session: Session, key: Key, redis: RedisDep, meta: MetaDep
) -> Envelope[list[RoleOut]]:
    key.updated_at = now_ms()
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=[role_out(session, r) for r in rbac.key_roles(session, key)])


@router.post("/v2/keys.addPermissions")
def add_permissions(
    body: KeyPermissions, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[PermissionOut]]:
    key = _key(session, caller, body.key_id)
    permissions = rbac.resolve_permissions(session, caller=caller, slugs=body.permissions)
    rbac.grant_permissions(session, key, permissions)
    return _done_permissions(session, key, redis, meta)


@router.post("/v2/keys.removePermissions")
def remove_permissions(
    body: KeyPermissions, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[PermissionOut]]:
    key = _key(session, caller, body.key_id)
    permissions = [
        rbac.find_permission(session, workspace_id=caller.workspace_id, permission=slug)
        for slug in body.permissions
    ]
    rbac.revoke_permissions(session, key, permissions)
    return _done_permissions(session, key, redis, meta)


@router.post("/v2/keys.setPermissions")
def set_permissions(
    body: KeyPermissions, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[PermissionOut]]:
    key = _key(session, caller, body.key_id)
    permissions = rbac.resolve_permissions(session, caller=caller, slugs=body.permissions)
    rbac.replace_permissions(session, key, permissions)
    return _done_permissions(session, key, redis, meta)


@router.post("/v2/keys.addRoles")
def add_roles(
    body: KeyRoles, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[RoleOut]]:
    key = _key(session, caller, body.key_id)
    rbac.grant_roles(
        session,
        key,
        rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles),
    )
    return _done_roles(session, key, redis, meta)


@router.post("/v2/keys.removeRoles")
def remove_roles(
    body: KeyRoles, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[RoleOut]]:
    key = _key(session, caller, body.key_id)
    rbac.revoke_roles(
        session,
        key,
        rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles),
    )
    return _done_roles(session, key, redis, meta)


@router.post("/v2/keys.setRoles")
def set_roles(
    body: KeyRoles, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[list[RoleOut]]:
    key = _key(session, caller, body.key_id)
    rbac.replace_roles(
        session,
        key,
        rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles),
    )
    return _done_roles(session, key, redis, meta)
