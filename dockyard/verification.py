"""Verifying a key: what keys.verifyKey answers and what a keyauth policy enforces.

The order of the checks, and so which code a key that fails several gets, is Unkey's:

    NOT_FOUND                 no such key (or another keyspace than the ones asked for)
    DISABLED                  enabled is false
    EXPIRED                   its expiry has passed
    FORBIDDEN                 the caller may not verify this key (a root key scoped to
                              other keys of the keyspace; api.routes.key_verification)
    INSUFFICIENT_PERMISSIONS  the permission query is not satisfied
    RATE_LIMITED              one of its rate limits is exhausted (nothing is spent)
    USAGE_EXCEEDED            no credits left for this cost
    VALID

The API and the Sentinel replicas share this module, so both answer identically. The
record of a key is loaded once (load_key) and may be cached by a replica: everything in
it except credits changes only through the API, which announces each change
(dockyard.key_events). Credits are spent in the database, atomically, on every
verification that costs.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from dockyard.keyspaces import Identity, Key, KeyPermission, KeyRole, Permission, Role
from dockyard.keyspaces import RolePermission as RP
from dockyard.permission_query import Query
from dockyard.ratelimit import counter_key

NOT_FOUND = "NOT_FOUND"
DISABLED = "DISABLED"
EXPIRED = "EXPIRED"
FORBIDDEN = "FORBIDDEN"
INSUFFICIENT_PERMISSIONS = "INSUFFICIENT_PERMISSIONS"
RATE_LIMITED = "RATE_LIMITED"
USAGE_EXCEEDED = "USAGE_EXCEEDED"
VALID = "VALID"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    keyspace_id: str
    workspace_id: str
    key_hash: str
    name: str | None
    meta: dict[str, Any] | None
    enabled: bool
    expires_at: int | None
    limited_credits: bool  # credits_remaining is not NULL: each verification spends
    credits: int | None  # as loaded; the database has the current number
    ratelimits: tuple[dict[str, Any], ...]
    permissions: frozenset[str]
    roles: tuple[str, ...]
    identity_id: str | None = None
    external_id: str | None = None
    identity_meta: dict[str, Any] | None = field(default=None)
    # The identity's limits, counted per identity: every key of it spends the same counter.
    identity_ratelimits: tuple[dict[str, Any], ...] = ()
    # principal() as compact JSON, encoded once per loaded key rather than per request.
    principal_json: bytes = field(init=False, default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = json.dumps(self.principal(), separators=(",", ":"), default=str).encode()
        object.__setattr__(self, "principal_json", encoded)

    @property
    def subject(self) -> str:
        """Who the key speaks for: its owner's externalId, else the key itself."""
        return self.external_id or self.id

    def principal(self) -> dict[str, Any]:
        """The verified identity an app receives (the Sentinel's principal header)."""
        principal: dict[str, Any] = {
            "type": "key",
            "subject": self.subject,
            "keyId": self.id,
            "keyspaceId": self.keyspace_id,
        }
        for name, value in (
            ("name", self.name),
            ("externalId", self.external_id),
            ("identityId", self.identity_id),
            ("meta", self.meta),
        ):
            if value is not None:
                principal[name] = value
        principal["permissions"] = sorted(self.permissions)
        principal["roles"] = list(self.roles)
        return principal


def load_key(session: Session, key_hash: str) -> KeyRecord | None:
    key = session.scalar(select(Key).where(Key.key_hash == key_hash))
    if key is None:
        return None
    roles = list(
        session.execute(
            select(Role.id, Role.name)
            .join(KeyRole, KeyRole.role_id == Role.id)
            .where(KeyRole.key_id == key.id)
        )
    )
    role_ids = [role_id for role_id, _ in roles]
    direct = select(KeyPermission.permission_id).where(KeyPermission.key_id == key.id)
    via_roles = select(RP.permission_id).where(RP.role_id.in_(role_ids))
    permissions = frozenset(
        session.scalars(
            select(Permission.slug).where(
                or_(Permission.id.in_(direct), Permission.id.in_(via_roles))
            )
        )
    )
    identity = session.get(Identity, key.identity_id) if key.identity_id else None
    return KeyRecord(
        id=key.id,
        keyspace_id=key.keyspace_id,
        workspace_id=key.workspace_id,
        key_hash=key.key_hash,
        name=key.name,
        meta=key.meta,
        enabled=key.enabled,
        expires_at=key.expires_at,
        limited_credits=key.credits_remaining is not None,
        credits=key.credits_remaining,
        ratelimits=tuple(key.ratelimits or ()),
        permissions=permissions,
        roles=tuple(sorted(name for _, name in roles)),
        identity_id=identity.id if identity else None,
        external_id=identity.external_id if identity else None,
        identity_meta=identity.meta if identity else None,
        identity_ratelimits=tuple(identity.ratelimits or ()) if identity else (),
    )


def precheck(
    record: KeyRecord | None,
    *,
    now_ms: int,
    keyspaces: Sequence[str] = (),
    query: Query | None = None,
    forbidden: bool = False,
) -> str | None:
    """The first failing code before rate limits and credits, or None when all pass."""
    if record is None or (keyspaces and record.keyspace_id not in keyspaces):
        return NOT_FOUND
    if not record.enabled:
        return DISABLED
    if record.expires_at is not None and record.expires_at <= now_ms:
        return EXPIRED
    if forbidden:
        return FORBIDDEN
    if query is not None and not query.allows(record.permissions):
        return INSUFFICIENT_PERMISSIONS
    return None


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One rate limit to take for a key: its own, its identity's, or an inline one a caller
    names. `counter` is the Redis counter it spends: the key's, or the identity's."""

    id: str
    name: str
    limit: int
    duration: int
    cost: int
    auto_apply: bool
    counter: str


def limit_checks(record: KeyRecord, requested: Sequence[dict[str, Any]]) -> list[LimitCheck]:
    """The auto-applied limits of the key and its identity, plus those requested by name
    (or defined inline).

    A key's limit takes precedence over its identity's limit of the same name, as in
    Unkey. `requested` items: {"name", "cost"?, "limit"?, "duration"?}. A requested name
    neither has and that brings no inline limit and duration is skipped.
    """
    own: dict[str, tuple[dict[str, Any], str]] = {}
    if record.identity_id is not None:
        for limit in record.identity_ratelimits:
            name = str(limit["name"])
            own[name] = (limit, counter_key("identity", record.identity_id, name))
    for limit in record.ratelimits:
        name = str(limit["name"])
        own[name] = (limit, counter_key("key", record.id, name))
    checks: dict[str, LimitCheck] = {}
    for name, (limit, counter) in own.items():
        if limit.get("autoApply"):
            checks[name] = _check(limit, cost=1, counter=counter)
    for ask in requested:
        name = str(ask["name"])
        cost = int(ask["cost"]) if ask.get("cost") is not None else 1
        if ask.get("limit") is not None and ask.get("duration") is not None:
            inline = {"id": f"inline:{name}", "name": name, **ask, "autoApply": False}
            checks[name] = _check(inline, cost=cost, counter=counter_key("key", record.id, name))
        elif name in own:
            limit, counter = own[name]
            checks[name] = _check(limit, cost=cost, counter=counter)
    return list(checks.values())


def _check(limit: dict[str, Any], *, cost: int, counter: str) -> LimitCheck:
    return LimitCheck(
        id=str(limit.get("id", limit["name"])),
        name=str(limit["name"]),
        limit=int(limit["limit"]),
        duration=int(limit["duration"]),
        cost=cost,
        auto_apply=bool(limit.get("autoApply", False)),
        counter=counter,
    )


def spend_credits(
    session: Session, key_id: str, cost: int, *, now_ms: int
) -> tuple[bool, int | None]:
    """Spend `cost` credits atomically: (spent, credits left; None when unlimited).

    A due refill (daily at 00:00 UTC, monthly on refill_day) is applied first. Commits.
    """
    key = session.get(Key, key_id)
    if key is None:
        session.rollback()
        return False, 0
    if key.credits_remaining is None:
        session.rollback()
        return True, None
    if key.refill_interval and key.refill_amount is not None:
        period = refill_period_start(key.refill_interval, key.refill_day, now_ms)
        session.execute(
            update(Key)
            .where(Key.id == key_id, or_(Key.refilled_at.is_(None), Key.refilled_at < period))
            .values(credits_remaining=key.refill_amount, refilled_at=now_ms)
            .execution_options(synchronize_session=False)
        )
    left = session.scalar(
        update(Key)
        .where(Key.id == key_id, Key.credits_remaining >= cost)
        .values(credits_remaining=Key.credits_remaining - cost)
        .returning(Key.credits_remaining)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if left is None:
        return False, 0
    return True, int(left)


def refill_period_start(interval: str, refill_day: int | None, now_ms: int) -> int:
    """Unix ms when the current refill period began."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if interval == "daily":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        day = min(refill_day or 1, calendar.monthrange(now.year, now.month)[1])
        start = now.replace(day=day, hour=0, minute=0, second=0, microsecond=0)
        if start > now:
            month, year = (now.month - 1, now.year) if now.month > 1 else (12, now.year - 1)
            day = min(refill_day or 1, calendar.monthrange(year, month)[1])
            start = start.replace(year=year, month=month, day=day)
    return int(start.timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)
