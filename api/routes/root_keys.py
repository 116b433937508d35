"""rootKeys.createKey / listKeys / updateKey / deleteKey / rerollKey."""

from __future__ import annotations

from api.crud import root_keys as crud
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.permissions import urn
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.root_keys import (
    CreateRootKey,
    ListRootKeys,
    RerollRootKey,
    RootKeyCreated,
    RootKeyOut,
    RootKeyRef,
    UpdateRootKey,
)
from dockyard.models import RootKey

router = resource_router("rootKeys")


def _out(key: RootKey) -> RootKeyOut:
    return RootKeyOut(
        key_id=key.id,
        name=key.name,
        start=key.start,
        end=key.end,
        enabled=key.enabled,
        created_at=key.created_at,
        last_used_at=key.last_used_at or 0,
        expires=key.expires_at,
        permissions=[str(permission) for permission in key.permissions],
    )


@router.post("/v2/rootKeys.createKey")
def create_key(
    body: CreateRootKey, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[RootKeyCreated]:
    """A new root key with at most the caller's permissions; the key is shown only here."""
    caller.require_any(urn(caller.workspace_id, "rootKeys/*", "write"))
    permissions = crud.check_grantable(caller, body.permissions, location="body.permissions")
    crud.check_expiry(caller, body.expires)
    key, plaintext = crud.create_root_key(
        session,
        workspace_id=caller.workspace_id,
        name=body.name,
        permissions=permissions,
        expires_at=body.expires,
    )
    session.commit()
    return Envelope(meta=meta, data=RootKeyCreated(key_id=key.id, key=plaintext))


@router.post("/v2/rootKeys.listKeys")
def list_keys(
    body: ListRootKeys, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[RootKeyOut]:
    """The keys the caller may read; secrets and hashes are never returned."""
    keys, pagination = crud.list_root_keys(
        session, caller=caller, limit=body.limit, cursor=body.cursor
    )
    return Page(meta=meta, data=[_out(key) for key in keys], pagination=pagination)


@router.post("/v2/rootKeys.updateKey")
def update_key(
    body: UpdateRootKey, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    key = crud.find_root_key(session, caller=caller, key_id=body.key_id)
    crud.require_on(caller, key, "write")
    if body.permissions is not None:
        key.permissions = crud.check_grantable(
            caller, body.permissions, location="body.permissions"
        )
    if "name" in body.model_fields_set:
        key.name = body.name
    if body.enabled is not None:
        key.enabled = body.enabled
    session.commit()
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/rootKeys.deleteKey")
def delete_key(
    body: RootKeyRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    """The key stops authenticating at once."""
    key = crud.find_root_key(session, caller=caller, key_id=body.key_id)
    crud.require_on(caller, key, "delete")
    session.delete(key)
    session.commit()
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/rootKeys.rerollKey")
def reroll_key(
    body: RerollRootKey, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[RootKeyCreated]:
    """A new secret with the same name, state, expiry and permissions as the original."""
    key = crud.find_root_key(session, caller=caller, key_id=body.key_id)
    crud.require_on(caller, key, "write")
    created, plaintext = crud.reroll(session, caller=caller, key=key, expiration=body.expiration)
    session.commit()
    return Envelope(meta=meta, data=RootKeyCreated(key_id=created.id, key=plaintext))
