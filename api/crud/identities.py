"""Identities: who keys belong to, found by their id or their externalId.

An identity's rate limits are stored as a key's are (keys.stored_ratelimits) and counted
per identity at verification (dockyard.verification.limit_checks). Keys cache what they
know of their identity in every Sentinel replica, so each change names the identity's
keys for the replicas to forget (key_hashes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.crud.keys import ratelimits_out, stored_ratelimits
from api.errors import Conflict, NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.identities import IdentityFull
from api.schemas.keys import RatelimitIn
from dockyard.ids import new_id
from dockyard.keyspaces import Identity, Key

IDENTITY_EXISTS = 'Identity with externalId "{external_id}" already exists in this workspace.'
NO_IDENTITY = 'Identity "{identity}" not found.'


def find_identity(session: Session, *, workspace_id: str, identity: str) -> Identity:
    """The identity whose id, or else whose externalId, is `identity`."""
    rows = session.scalars(
        select(Identity).where(
            Identity.workspace_id == workspace_id,
            or_(Identity.id == identity, Identity.external_id == identity),
        )
    ).all()
    if not rows:
        raise NotFound(NO_IDENTITY.format(identity=identity))
    return next((row for row in rows if row.id == identity), rows[0])


def create_identity(
    session: Session,
    *,
    workspace_id: str,
    external_id: str,
    meta: dict[str, Any] | None,
    ratelimits: list[RatelimitIn],
) -> Identity:
    conflict = Conflict(IDENTITY_EXISTS.format(external_id=external_id))
    taken = session.scalar(
        select(Identity.id).where(
            Identity.workspace_id == workspace_id, Identity.external_id == external_id
        )
    )
    if taken is not None:
        raise conflict
    identity = Identity(
        id=new_id("identity"),
        workspace_id=workspace_id,
        external_id=external_id,
        meta=meta,
        ratelimits=stored_ratelimits(ratelimits),
    )
    session.add(identity)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent request created it after our check
        session.rollback()
        raise conflict from error
    return identity


def list_identities(
    session: Session, *, workspace_id: str, limit: int, cursor: str | None, search: str | None
) -> tuple[list[Identity], Pagination]:
    query = select(Identity).where(Identity.workspace_id == workspace_id)
    if search:
        query = query.where(
            or_(
                Identity.id.icontains(search, autoescape=True),
                Identity.external_id.icontains(search, autoescape=True),
            )
        )
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(str,))
        query = query.where(Identity.id > after)
    rows = session.scalars(query.order_by(Identity.id).limit(limit + 1)).all()
    return page(rows, limit=limit, cursor_of=lambda identity: encode_cursor(identity.id))


def key_hashes(session: Session, identity: Identity) -> list[str]:
    """The hashes of the identity's keys: what replicas cache them under."""
    return list(session.scalars(select(Key.key_hash).where(Key.identity_id == identity.id)))


def identity_out(identity: Identity) -> IdentityFull:
    return IdentityFull(
        id=identity.id,
        external_id=identity.external_id,
        meta=identity.meta,
        ratelimits=ratelimits_out(identity.ratelimits),
    )
