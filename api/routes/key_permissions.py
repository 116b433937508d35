"""keys.addPermissions / removePermissions / setPermissions and the same for roles.

Each answers with everything the key holds directly afterwards, and announces the change
to the gateway replicas, which drop the key from their caches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

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
T = TypeVar("T")


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


def _changed(session: Session, key: Key, redis: RedisDep) -> None:
    """Commit what the key now holds, and have every replica drop it from its cache."""
    key.updated_at = now_ms()
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))


def _existing(session: Session, caller: Caller, slugs: list[str]) -> list[Permission]:
    """Removing needs only the permissions that exist; a missing one is a 404."""
    return [
        rbac.find_permission(session, workspace_id=caller.workspace_id, permission=slug)
        for slug in slugs
    ]


def _existing_or_new(session: Session, caller: Caller, slugs: list[str]) -> list[Permission]:
    return rbac.resolve_permissions(session, caller=caller, slugs=slugs)


Resolve = Callable[[Session, Caller, list[str]], list[Permission]]
Apply = Callable[[Session, Key, Sequence[T]], None]

# Each operation's path, its handler's name, and how the named permissions or roles change.
PERMISSION_OPERATIONS: tuple[tuple[str, str, Resolve, Apply[Permission]], ...] = (
    ("/v2/keys.addPermissions", "add_permissions", _existing_or_new, rbac.grant_permissions),
    ("/v2/keys.removePermissions", "remove_permissions", _existing, rbac.revoke_permissions),
    ("/v2/keys.setPermissions", "set_permissions", _existing_or_new, rbac.replace_permissions),
)
ROLE_OPERATIONS: tuple[tuple[str, str, Apply[Role]], ...] = (
    ("/v2/keys.addRoles", "add_roles", rbac.grant_roles),
    ("/v2/keys.removeRoles", "remove_roles", rbac.revoke_roles),
    ("/v2/keys.setRoles", "set_roles", rbac.replace_roles),
)


def _permissions_operation(
    resolve: Resolve, apply: Apply[Permission]
) -> Callable[..., Envelope[list[PermissionOut]]]:
    def operation(
        body: KeyPermissions,
        session: SessionDep,
        caller: RootKeyDep,
        redis: RedisDep,
        meta: MetaDep,
    ) -> Envelope[list[PermissionOut]]:
        key = _key(session, caller, body.key_id)
        apply(session, key, resolve(session, caller, body.permissions))
        _changed(session, key, redis)
        held = rbac.key_permissions(session, key)
        return Envelope(meta=meta, data=[permission_out(p) for p in held])

    return operation


def _roles_operation(apply: Apply[Role]) -> Callable[..., Envelope[list[RoleOut]]]:
    def operation(
        body: KeyRoles, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
    ) -> Envelope[list[RoleOut]]:
        key = _key(session, caller, body.key_id)
        apply(
            session,
            key,
            rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles),
        )
        _changed(session, key, redis)
        held = rbac.key_roles(session, key)
        return Envelope(meta=meta, data=[role_out(session, r) for r in held])

    return operation


for path, name, resolve, apply_permissions in PERMISSION_OPERATIONS:
    router.post(path, name=name)(_permissions_operation(resolve, apply_permissions))
for path, name, apply_roles in ROLE_OPERATIONS:
    router.post(path, name=name)(_roles_operation(apply_roles))
