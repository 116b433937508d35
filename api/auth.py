"""Root keys: who is calling, in which workspace, allowed to do what.

Permissions are Unkey's tuples, `<resource>.<id or *>.<action>` such as
`project.*.create_project` or `environment.env_123.read_deployment`; `*` alone allows
everything (the bootstrap key has it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import Forbidden, Unauthorized
from dockyard.keys import hash_key
from dockyard.models import RootKey

ALL = "*"
MISSING = (
    "The Authorization header is missing. Send your root key as `Authorization: Bearer <root key>`."
)
MALFORMED = "The Authorization header must have the form `Bearer <root key>`."
UNKNOWN_KEY = "The root key is not valid: no such key exists, or it was deleted."


@dataclass(frozen=True)
class Caller:
    key_id: str
    workspace_id: str
    permissions: frozenset[str]

    def require(self, resource: str, action: str, resource_id: str | None = None) -> None:
        """Forbidden unless the key holds the wildcard permission, or the one for this id."""
        wildcard = f"{resource}.*.{action}"
        accepted = {ALL, wildcard}
        if resource_id is not None:
            accepted.add(f"{resource}.{resource_id}.{action}")
        if self.permissions.isdisjoint(accepted):
            wanted = " or ".join(f"'{name}'" for name in sorted(accepted - {ALL}))
            raise Forbidden(f"Your root key requires the {wanted} permission for this operation.")


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
    return Caller(
        key_id=key.id,
        workspace_id=key.workspace_id,
        permissions=frozenset(str(permission) for permission in key.permissions),
    )
