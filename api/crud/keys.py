"""Keyspaces and keys: created with a random secret that is returned once and stored only
as its SHA-256 hash; found by id within the caller's workspace.

Root-key rights follow Unkey: `api.<keyspace id or *>.<action>` or the URN
`unkey:v1:<workspace>:keyspaces/<keyspace id>/keys/<key id>#<action>`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Caller
from api.crud import rbac
from api.errors import BadRequest, NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.permissions import urn
from api.schemas.base import Pagination
from api.schemas.keys import (
    CreateKey,
    CreditsOut,
    IdentityOut,
    KeyOut,
    KeySettings,
    MigrateKey,
    RatelimitIn,
    RatelimitOut,
    Refill,
    RefillOut,
)
from dockyard.ids import new_id
from dockyard.keys import generate_key, hash_key, visible_start
from dockyard.keyspaces import Identity, Key, KeyPermission, KeyRole, Keyspace
from dockyard.models import now_ms

NO_KEY = "Key '{key_id}' does not exist in this workspace."
NO_SUCH_KEY = "No key with this secret exists in this workspace."
START_LENGTH = 4  # characters of the secret that getKey and listKeys show
EXPIRES_IN_PAST = "must be a unix timestamp in milliseconds in the future"


def require(caller: Caller, action: str, keyspace_id: str, key_id: str = "*") -> None:
    caller.require(
        "api",
        action,
        keyspace_id,
        also=[urn(caller.workspace_id, f"keyspaces/{keyspace_id}/keys/{key_id}", action)],
    )


def find_key(session: Session, *, workspace_id: str, key_id: str) -> Key:
    row = session.get(Key, key_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(NO_KEY.format(key_id=key_id))
    return row


def find_key_by_secret(session: Session, *, workspace_id: str, secret: str) -> Key:
    """The key a secret belongs to, found by the secret's hash."""
    key = session.scalar(select(Key).where(Key.key_hash == hash_key(secret)))
    if key is None or key.workspace_id != workspace_id:
        raise NotFound(NO_SUCH_KEY)
    return key


def identity_for(session: Session, *, workspace_id: str, external_id: str) -> Identity:
    identity = session.scalar(
        select(Identity).where(
            Identity.workspace_id == workspace_id, Identity.external_id == external_id
        )
    )
    if identity is None:
        identity = Identity(
            id=new_id("identity"), workspace_id=workspace_id, external_id=external_id
        )
        session.add(identity)
        session.flush()
    return identity


def check_expires(expires: int | None) -> None:
    if expires is not None and expires <= now_ms():
        raise BadRequest.at("body.expires", EXPIRES_IN_PAST)


def stored_ratelimits(limits: list[RatelimitIn]) -> list[dict[str, Any]]:
    names = [limit.name for limit in limits]
    if len(set(names)) != len(names):
        raise BadRequest.at("body.ratelimits", "each rate limit needs its own name")
    return [
        {"id": new_id("ratelimit"), **limit.model_dump(by_alias=True, mode="json")}
        for limit in limits
    ]


def set_refill(key: Key, refill: Refill | None) -> None:
    key.refill_interval = refill.interval if refill else None
    key.refill_amount = refill.amount if refill else None
    key.refill_day = (refill.refill_day or 1) if refill and refill.interval == "monthly" else None
    key.refilled_at = now_ms() if refill else None


def new_secret(prefix: str, byte_length: int = 16) -> tuple[str, str, str]:
    """A random key: (the secret, its SHA-256 hash, what may be shown of it)."""
    plaintext = generate_key(prefix, byte_length)
    shown = len(prefix) + 1 + START_LENGTH if prefix else START_LENGTH
    return plaintext, hash_key(plaintext), visible_start(plaintext, shown)


def prefix_of(key: Key) -> str:
    """The prefix a key was made with: its `start` is `<prefix>_` and a few characters."""
    return key.start[: -(START_LENGTH + 1)] if len(key.start) > START_LENGTH else ""


def create_key(
    session: Session, *, caller: Caller, keyspace: Keyspace, body: CreateKey
) -> tuple[Key, str]:
    plaintext, key_hash, start = new_secret(body.prefix or "", body.byte_length)
    return add_key(
        session, caller=caller, keyspace=keyspace, body=body, key_hash=key_hash, start=start
    ), plaintext


def migrate_keys(
    session: Session, *, caller: Caller, keyspace: Keyspace, keys: list[tuple[MigrateKey, str]]
) -> tuple[list[Key], list[str]]:
    """Each (key, its SHA-256 hex digest) as a new key; the hashes of those already held
    (here or in another keyspace, or twice in `keys`) come back as failed, the rest go in."""
    held = set(session.scalars(select(Key.key_hash).where(Key.key_hash.in_({h for _, h in keys}))))
    migrated: list[Key] = []
    failed: list[str] = []
    for body, key_hash in keys:
        if key_hash in held:
            failed.append(body.hash)
            continue
        held.add(key_hash)
        try:
            with session.begin_nested():  # a migration of the same hash running beside this one
                key = add_key(
                    session,
                    caller=caller,
                    keyspace=keyspace,
                    body=body,
                    key_hash=key_hash,
                    start="",
                )
        except IntegrityError:
            failed.append(body.hash)
            continue
        migrated.append(key)
    return migrated, failed


def add_key(
    session: Session,
    *,
    caller: Caller,
    keyspace: Keyspace,
    body: KeySettings,
    key_hash: str,
    start: str,
) -> Key:
    check_expires(body.expires)
    key = Key(
        id=new_id("key"),
        keyspace_id=keyspace.id,
        workspace_id=keyspace.workspace_id,
        key_hash=key_hash,
        start=start,
        name=body.name,
        meta=body.meta,
        enabled=body.enabled,
        expires_at=body.expires,
        ratelimits=stored_ratelimits(body.ratelimits or []),
    )
    if body.external_id:
        key.identity_id = identity_for(
            session, workspace_id=keyspace.workspace_id, external_id=body.external_id
        ).id
    if body.credits is not None:
        if body.credits.remaining is None and body.credits.refill is not None:
            raise BadRequest.at("body.credits.refill", "needs a number of remaining credits")
        key.credits_remaining = body.credits.remaining
        set_refill(key, body.credits.refill)
    session.add(key)
    session.flush()
    if body.permissions:
        permissions = rbac.resolve_permissions(session, caller=caller, slugs=body.permissions)
        rbac.grant_permissions(session, key, permissions)
    if body.roles:
        roles = rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles)
        rbac.grant_roles(session, key, roles)
    return key


def credits_out(key: Key) -> CreditsOut | None:
    if key.credits_remaining is None:
        return None
    refill = None
    if key.refill_interval and key.refill_amount is not None:
        refill = RefillOut(
            interval="daily" if key.refill_interval == "daily" else "monthly",
            amount=key.refill_amount,
            refill_day=key.refill_day,
        )
    return CreditsOut(remaining=key.credits_remaining, refill=refill)


def key_out(session: Session, key: Key) -> KeyOut:
    identity = session.get(Identity, key.identity_id) if key.identity_id else None
    return KeyOut(
        key_id=key.id,
        start=key.start,
        enabled=key.enabled,
        created_at=key.created_at,
        name=key.name,
        meta=key.meta,
        updated_at=key.updated_at,
        last_used_at=key.last_used_at,
        expires=key.expires_at,
        permissions=[permission.slug for permission in rbac.key_permissions(session, key)],
        roles=[role.name for role in rbac.key_roles(session, key)],
        credits=credits_out(key),
        identity=(
            IdentityOut(id=identity.id, external_id=identity.external_id, meta=identity.meta)
            if identity
            else None
        ),
        ratelimits=ratelimits_out(key.ratelimits),
    )


def ratelimits_out(limits: list[Any] | None) -> list[RatelimitOut]:
    """Stored limits (stored_ratelimits) of a key or an identity, as Unkey answers them."""
    return [
        RatelimitOut(
            id=str(limit["id"]),
            name=str(limit["name"]),
            limit=int(limit["limit"]),
            duration=int(limit["duration"]),
            auto_apply=bool(limit.get("autoApply", False)),
        )
        for limit in limits or []
    ]


def list_keys(
    session: Session,
    *,
    keyspace: Keyspace,
    limit: int,
    cursor: str | None,
    external_id: str | None,
) -> tuple[list[Key], Pagination]:
    query = select(Key).where(Key.keyspace_id == keyspace.id)
    if external_id is not None:
        query = query.join(Identity, Identity.id == Key.identity_id).where(
            Identity.external_id == external_id
        )
    if cursor is not None:
        created_at, key_id = decode_cursor(cursor, kinds=(int, str))
        query = query.where(tuple_(Key.created_at, Key.id) > tuple_(created_at, key_id))
    rows = list(session.scalars(query.order_by(Key.created_at, Key.id).limit(limit + 1)))
    return page(rows, limit=limit, cursor_of=lambda key: encode_cursor(key.created_at, key.id))


def copy_key(session: Session, original: Key) -> tuple[Key, str]:
    """A new secret with every setting, permission and role of `original` (rerollKey)."""
    plaintext, key_hash, start = new_secret(prefix_of(original))
    copied = Key(
        id=new_id("key"),
        keyspace_id=original.keyspace_id,
        workspace_id=original.workspace_id,
        key_hash=key_hash,
        start=start,
        name=original.name,
        meta=original.meta,
        identity_id=original.identity_id,
        enabled=original.enabled,
        expires_at=original.expires_at,
        credits_remaining=original.credits_remaining,
        refill_interval=original.refill_interval,
        refill_amount=original.refill_amount,
        refill_day=original.refill_day,
        refilled_at=original.refilled_at,
        ratelimits=[{**limit, "id": new_id("ratelimit")} for limit in original.ratelimits or []],
    )
    session.add(copied)
    session.flush()
    for permission in rbac.key_permissions(session, original):
        session.add(KeyPermission(key_id=copied.id, permission_id=permission.id))
    for role in rbac.key_roles(session, original):
        session.add(KeyRole(key_id=copied.id, role_id=role.id))
    session.flush()
    return copied, plaintext
