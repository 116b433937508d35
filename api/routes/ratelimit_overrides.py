"""ratelimit.setOverride / getOverride / listOverrides / deleteOverride.

An override replaces the limit and duration ratelimit.limit is asked for, for one
identifier or every identifier its `*` pattern matches (api.crud.ratelimit_overrides).
It takes effect with the next limit check: nothing about it is cached.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Caller
from api.crud import ratelimit_overrides as crud
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.ratelimit import ListOverrides, OverrideOut, OverrideRef, OverrideSet, SetOverride
from dockyard.keyspaces import RatelimitNamespace

router = resource_router("ratelimit")


def _namespace(session: Session, caller: Caller, namespace: str, action: str) -> RatelimitNamespace:
    """The namespace, found by id or name, if the caller may do `action` in it."""
    found = crud.find_namespace(session, workspace_id=caller.workspace_id, namespace=namespace)
    caller.require("ratelimit", action, found.id)
    return found


@router.post("/v2/ratelimit.setOverride")
def set_override(
    body: SetOverride, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[OverrideSet]:
    """Creates the override, or changes the one this identifier already has."""
    namespace = _namespace(session, caller, body.namespace, "set_override")
    override = crud.set_override(
        session,
        namespace_id=namespace.id,
        identifier=body.identifier,
        limit=body.limit,
        duration=body.duration,
    )
    session.commit()
    return Envelope(meta=meta, data=OverrideSet(override_id=override.id))


@router.post("/v2/ratelimit.getOverride")
def get_override(
    body: OverrideRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[OverrideOut]:
    namespace = _namespace(session, caller, body.namespace, "read_override")
    override = crud.find_override(session, namespace=namespace, identifier=body.identifier)
    return Envelope(meta=meta, data=crud.override_out(override))


@router.post("/v2/ratelimit.listOverrides")
def list_overrides(
    body: ListOverrides, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Page[OverrideOut]:
    """The namespace's overrides, ordered by id."""
    namespace = _namespace(session, caller, body.namespace, "read_override")
    overrides, pagination = crud.list_overrides(
        session, namespace_id=namespace.id, limit=body.limit, cursor=body.cursor
    )
    return Page(
        meta=meta,
        data=[crud.override_out(override) for override in overrides],
        pagination=pagination,
    )


@router.post("/v2/ratelimit.deleteOverride")
def delete_override(
    body: OverrideRef, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[Empty]:
    """Identifiers it applied to go back to the limits their requests ask for, at once."""
    namespace = _namespace(session, caller, body.namespace, "delete_override")
    session.delete(crud.find_override(session, namespace=namespace, identifier=body.identifier))
    session.commit()
    return Envelope(meta=meta, data=Empty())
