"""apis.createApi / getApi / listKeys / deleteApi: keyspaces, in Unkey's words."""

from __future__ import annotations

from api.crud import keys as crud
from api.crud.keyspaces import create_keyspace, delete_keyspace, find_keyspace
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.redis_deps import RedisDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.keys import ApiCreated, ApiOut, ApiRef, CreateApi, KeyOut, ListKeys
from dockyard import key_events

router = resource_router("apis")


@router.post("/v2/apis.createApi")
def create_api(
    body: CreateApi, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[ApiCreated]:
    caller.require("api", "create_api")
    keyspace = create_keyspace(session, workspace_id=caller.workspace_id, name=body.name)
    session.commit()
    return Envelope(meta=meta, data=ApiCreated(api_id=keyspace.id))


@router.post("/v2/apis.getApi")
def get_api(
    body: ApiRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[ApiOut]:
    caller.require("api", "read_api", body.api_id)
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    return Envelope(meta=meta, data=ApiOut(id=keyspace.id, name=keyspace.name))


@router.post("/v2/apis.listKeys")
def list_keys(
    body: ListKeys, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[KeyOut]:
    """The keyspace's keys, oldest first; their secrets are never part of the answer."""
    crud.require(caller, "read_key", body.api_id)
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    keys, pagination = crud.list_keys(
        session,
        keyspace=keyspace,
        limit=body.limit,
        cursor=body.cursor,
        external_id=body.external_id,
    )
    return Page(meta=meta, data=[crud.key_out(session, key) for key in keys], pagination=pagination)


@router.post("/v2/apis.deleteApi")
def delete_api(
    body: ApiRef, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    """The keyspace and every key in it; gateways reject those keys within a second."""
    caller.require("api", "delete_api", body.api_id)
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    hashes = delete_keyspace(session, keyspace)
    session.commit()
    key_events.publish(
        redis,
        key_events.keyspace_message(keyspace.id),
        *(key_events.key_message(key_hash) for key_hash in hashes),
    )
    return Envelope(meta=meta, data=Empty())
