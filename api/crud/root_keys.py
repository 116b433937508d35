"""Root keys: stored only as SHA-256 hashes; a key never grants more than its creator holds.

Root-key rights are Unkey's URNs: `unkey:v1:<workspace>:rootKeys/<key id or *>#read`,
`#write` (create, update, reroll) and `#delete`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.errors import BadRequest, Forbidden, NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.permissions import problem, urn
from api.schemas.base import Pagination
from dockyard.ids import new_id
from dockyard.keys import ROOT_KEY_PREFIX, generate_key, hash_key, visible_start
from dockyard.models import RootKey, now_ms

END_LENGTH = 4
NOT_FOUND = "Root key '{key_id}' does not exist in this workspace."
BEYOND_CALLER = (
    "Your root key cannot grant '{permission}': a root key can only grant permissions it holds."
)
NOT_IN_FUTURE = "must be a unix timestamp in milliseconds in the future"
OUTLIVES_CALLER = (
    "must be no later than your own root key's expiry ({expires}), because your key expires"
)
EXPIRY_REQUIRED = "is required: your root key expires, so the keys it creates must expire too"
EXPIRES_LATER = (
    "Your root key expires at {mine}; it cannot change root key '{key_id}', which "
    "expires later or never."
)


def root_key_urn(caller: Caller, key_id: str, action: str) -> list[str]:
    """The URN that allows `action` on this key, and the one for every key."""
    return [
        urn(caller.workspace_id, f"rootKeys/{key_id}", action),
        urn(caller.workspace_id, "rootKeys/*", action),
    ]


def check_grantable(caller: Caller, permissions: list[str], *, location: str) -> list[str]:
    """400 for a permission dockyard does not know, 403 for one the caller does not hold."""
    for index, permission in enumerate(permissions):
        reason = problem(permission, workspace_id=caller.workspace_id)
        if reason is not None:
            raise BadRequest.at(f"{location}[{index}]", reason)
    for permission in permissions:
        if not caller.covers(permission):
            raise Forbidden(BEYOND_CALLER.format(permission=permission))
    return list(dict.fromkeys(permissions))  # duplicates collapse, order kept


def check_expiry(caller: Caller, expires: int | None) -> None:
    if expires is not None and expires <= now_ms():
        raise BadRequest.at("body.expires", NOT_IN_FUTURE)
    if caller.expires_at is None:
        return
    if expires is None:
        raise BadRequest.at("body.expires", EXPIRY_REQUIRED)
    if expires > caller.expires_at:
        raise BadRequest.at("body.expires", OUTLIVES_CALLER.format(expires=caller.expires_at))


def create_root_key(
    session: Session,
    *,
    workspace_id: str,
    name: str | None,
    permissions: list[str],
    expires_at: int | None,
    enabled: bool = True,
) -> tuple[RootKey, str]:
    """Store a new key by its hash; the plaintext is returned, and shown only once."""
    plaintext = generate_key(ROOT_KEY_PREFIX)
    row = RootKey(
        id=new_id("root_key"),
        workspace_id=workspace_id,
        name=name,
        key_hash=hash_key(plaintext),
        start=visible_start(plaintext),
        end=plaintext[-END_LENGTH:],
        permissions=permissions,
        enabled=enabled,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def find_root_key(session: Session, *, caller: Caller, key_id: str) -> RootKey:
    row = session.scalar(
        select(RootKey).where(RootKey.workspace_id == caller.workspace_id, RootKey.id == key_id)
    )
    if row is None:
        raise NotFound(NOT_FOUND.format(key_id=key_id))
    return row


def require_on(caller: Caller, key: RootKey, action: str) -> None:
    caller.require_any(*root_key_urn(caller, key.id, action))
    if caller.expires_at is not None and (
        key.expires_at is None or key.expires_at > caller.expires_at
    ):
        raise Forbidden(EXPIRES_LATER.format(mine=caller.expires_at, key_id=key.id))


def list_root_keys(
    session: Session, *, caller: Caller, limit: int, cursor: str | None
) -> tuple[list[RootKey], Pagination]:
    """The keys this caller may read, by id: all of them, or those named in its URNs."""
    query = select(RootKey).where(RootKey.workspace_id == caller.workspace_id)
    if not caller.allows(urn(caller.workspace_id, "rootKeys/*", "read")):
        readable = [
            key_id
            for key_id in _named_key_ids(caller)
            if caller.allows(urn(caller.workspace_id, f"rootKeys/{key_id}", "read"))
        ]
        query = query.where(RootKey.id.in_(readable))
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(str,))
        query = query.where(RootKey.id > after)
    rows = session.scalars(query.order_by(RootKey.id).limit(limit + 1)).all()
    return page(rows, limit=limit, cursor_of=lambda row: encode_cursor(row.id))


def _named_key_ids(caller: Caller) -> set[str]:
    prefix = f"unkey:v1:{caller.workspace_id}:rootKeys/"
    wildcard_prefix = "unkey:v1:*:rootKeys/"
    found = set()
    for permission in caller.permissions:
        for start in (prefix, wildcard_prefix):
            if permission.startswith(start):
                found.add(permission[len(start) :].split("#", 1)[0])
    return found - {"*"}


def reroll(
    session: Session, *, caller: Caller, key: RootKey, expiration: int | None
) -> tuple[RootKey, str]:
    """A new secret with the original's settings; `expiration` shortens the original's life."""
    for permission in key.permissions:
        if not caller.covers(str(permission)):
            raise Forbidden(BEYOND_CALLER.format(permission=permission))
    if expiration is not None:
        caller.require_any(*root_key_urn(caller, key.id, "delete"))
    created = create_root_key(
        session,
        workspace_id=key.workspace_id,
        name=key.name,
        permissions=[str(permission) for permission in key.permissions],
        expires_at=key.expires_at,
        enabled=key.enabled,
    )
    if expiration is not None:
        ends = now_ms() + expiration
        # Never extends: a key that expires sooner keeps its own expiry.
        key.expires_at = ends if key.expires_at is None else min(key.expires_at, ends)
    session.flush()
    return created
