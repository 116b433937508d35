"""Root keys: who is calling, in which workspace, allowed to do what.

Permissions are Unkey's (api.permissions): tuples such as `project.*.create_project` or
`environment.env_123.read_deployment`, URNs such as `unkey:v1:ws_1:rootKeys/*#read`, and
`*` alone for everything (the bootstrap key has it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.errors import Forbidden, Unauthorized
from api.permissions import ALL, grants, grants_any
from dockyard.keys import hash_key
from dockyard.models import RootKey, now_ms

MISSING = (
    "The Authorization header is missing. Send your root key as `Authorization: Bearer <root key>`."
)
MALFORMED = "The Authorization header must have the form `Bearer <root key>`."
UNKNOWN_KEY = "The root key is not valid: no such key exists, or it was deleted."
EXPIRED_KEY = "The root key has expired. Create a new one, or reroll it before it expires."
DISABLED_KEY = "The provided root key is disabled. Enable it with rootKeys.updateKey."
REQUIRES = "Your root key requires the {wanted} permission for this operation."
# lastUsedAt is written at most this often per key, so reads do not all become writes.
LAST_USED_RESOLUTION_MS = 60_000


@dataclass(frozen=True)
class Caller:
    key_id: str
    workspace_id: str
    permissions: frozenset[str]
    expires_at: int | None = None

    def allows(self, *wanted: str) -> bool:
        """Whether any held permission allows any of `wanted` (alternatives)."""
        return grants_any(self.permissions, wanted)

    def covers(self, permission: str) -> bool:
        """Whether this key holds at least what `permission` would grant."""
        return any(grants(held, permission) for held in self.permissions)

    def require(
        self,
        resource: str,
        action: str,
        resource_id: str | None = None,
        *,
        also: Iterable[str] = (),
    ) -> None:
        """Forbidden unless the key holds the wildcard permission, the one for this id, or
        one of `also` (the same right in Unkey's URN form)."""
        accepted = [f"{resource}.*.{action}"]
        if resource_id is not None:
            accepted.append(f"{resource}.{resource_id}.{action}")
        self.require_any(*accepted, *also)

    def require_any(self, *accepted: str) -> None:
        if not self.allows(*accepted):
            wanted = " or ".join(f"'{name}'" for name in accepted if name != ALL)
            raise Forbidden(REQUIRES.format(wanted=wanted))


def authenticate(session: Session, authorization: str | None) -> Caller:
    if not authorization or not authorization.strip():
        raise Unauthorized(MISSING)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(MALFORMED)
    key = session.scalar(select(RootKey).where(RootKey.key_hash == hash_key(token)))
    if key is None:
        raise Unauthorized(UNKNOWN_KEY)
    now = now_ms()
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized(EXPIRED_KEY)
    if not key.enabled:
        raise Forbidden(DISABLED_KEY)
    caller = Caller(
        key_id=key.id,
        workspace_id=key.workspace_id,
        permissions=frozenset(str(permission) for permission in key.permissions),
        expires_at=key.expires_at,
    )
    _record_use(session, key, now)
    return caller


def _record_use(session: Session, key: RootKey, now: int) -> None:
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION_MS:
        return
    # Its own short transaction, before the route's work, and without touching updated_at:
    # using a key is not changing it.
    session.execute(
        update(RootKey)
        .where(
            RootKey.id == key.id,
            or_(
                RootKey.last_used_at.is_(None),
                RootKey.last_used_at < now - LAST_USED_RESOLUTION_MS,
            ),
        )
        .values(last_used_at=now, updated_at=RootKey.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.commit()
