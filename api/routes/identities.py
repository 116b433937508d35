"""identities.createIdentity / getIdentity / listIdentities / updateIdentity / deleteIdentity.

An identity is named by its id or its externalId. Its metadata and rate limits are part
of every verification of its keys, so each change is announced to the Sentinel replicas
for every one of those keys (dockyard.key_events) once it is committed.
"""

from __future__ import annotations

from api.crud import identities as crud
from api.crud.keys import stored_ratelimits
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.redis_deps import RedisDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.identities import (
    CreateIdentity,
    DeleteIdentity,
    GetIdentity,
    IdentityCreated,
    IdentityFull,
    ListIdentities,
    UpdateIdentity,
)
from dockyard import key_events
from dockyard.models import now_ms

router = resource_router("identities")


@router.post("/v2/identities.createIdentity")
def create_identity(
    body: CreateIdentity, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[IdentityCreated]:
    """A new identity; an externalId already taken in the workspace is a 409."""
    caller.require("identity", "create_identity")
    identity = crud.create_identity(
        session,
        workspace_id=caller.workspace_id,
        external_id=body.external_id,
        meta=body.meta,
        ratelimits=body.ratelimits or [],
    )
    session.commit()
    return Envelope(meta=meta, data=IdentityCreated(identity_id=identity.id))


@router.post("/v2/identities.getIdentity")
def get_identity(
    body: GetIdentity, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[IdentityFull]:
    identity = crud.find_identity(session, workspace_id=caller.workspace_id, identity=body.identity)
    caller.require("identity", "read_identity", identity.id)
    return Envelope(meta=meta, data=crud.identity_out(identity))


@router.post("/v2/identities.listIdentities")
def list_identities(
    body: ListIdentities, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[IdentityFull]:
    """The workspace's identities by id; `search` keeps those whose id or externalId
    contains it, ignoring case."""
    caller.require("identity", "read_identity")
    identities, pagination = crud.list_identities(
        session,
        workspace_id=caller.workspace_id,
        limit=body.limit,
        cursor=body.cursor,
        search=body.search,
    )
    return Page(
        meta=meta,
        data=[crud.identity_out(identity) for identity in identities],
        pagination=pagination,
    )


@router.post("/v2/identities.updateIdentity")
def update_identity(
    body: UpdateIdentity, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[IdentityFull]:
    """Replaces the metadata and rate limits that are given; omitted ones stay."""
    identity = crud.find_identity(session, workspace_id=caller.workspace_id, identity=body.identity)
    caller.require("identity", "update_identity", identity.id)
    given = body.model_fields_set
    if "meta" in given:
        identity.meta = body.meta
    if "ratelimits" in given:
        identity.ratelimits = stored_ratelimits(body.ratelimits or [])
    identity.updated_at = now_ms()
    hashes = crud.key_hashes(session, identity)
    session.commit()
    key_events.publish(redis, *(key_events.key_message(key_hash) for key_hash in hashes))
    return Envelope(meta=meta, data=crud.identity_out(identity))


@router.post("/v2/identities.deleteIdentity")
def delete_identity(
    body: DeleteIdentity, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    """The identity goes; its keys stay and belong to no one (the foreign key sets NULL),
    and its externalId can be used again at once."""
    identity = crud.find_identity(session, workspace_id=caller.workspace_id, identity=body.identity)
    caller.require("identity", "delete_identity", identity.id)
    hashes = crud.key_hashes(session, identity)
    session.delete(identity)
    session.commit()
    key_events.publish(redis, *(key_events.key_message(key_hash) for key_hash in hashes))
    return Envelope(meta=meta, data=Empty())
