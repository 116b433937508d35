"""Rate limit overrides: a namespace's limits for chosen identifiers, set by pattern.

An override's identifier is either exact or holds `*`, which stands for any run of
characters (none included): `premium_*`, `*.acme.com`, `*suspicious*`. When ratelimit.limit
counts an identifier, an exact override wins; otherwise, of the wildcard overrides that
match, the most specific one (the most characters besides `*`) applies. All of them come
from one indexed query per limit check (`override_for`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.ratelimit import OverrideOut
from dockyard.ids import new_id
from dockyard.keyspaces import RatelimitNamespace, RatelimitOverride

WILDCARD = "*"
NO_NAMESPACE = 'Rate limit namespace "{namespace}" not found.'
NO_OVERRIDE = 'No override found for identifier "{identifier}" in namespace "{namespace}".'


def namespace_query(*, workspace_id: str, namespace: str) -> Select[RatelimitNamespace]:
    """The workspace's namespace whose id or name is `namespace`."""
    return select(RatelimitNamespace).where(
        RatelimitNamespace.workspace_id == workspace_id,
        or_(RatelimitNamespace.id == namespace, RatelimitNamespace.name == namespace),
    )


def find_namespace(session: Session, *, workspace_id: str, namespace: str) -> RatelimitNamespace:
    """An existing namespace: overrides are set on namespaces ratelimit.limit has made."""
    found = session.scalar(namespace_query(workspace_id=workspace_id, namespace=namespace))
    if found is None:
        raise NotFound(NO_NAMESPACE.format(namespace=namespace))
    return found


def _stored(session: Session, namespace_id: str, identifier: str) -> RatelimitOverride | None:
    return session.scalar(
        select(RatelimitOverride).where(
            RatelimitOverride.namespace_id == namespace_id,
            RatelimitOverride.identifier == identifier,
        )
    )


def find_override(
    session: Session, *, namespace: RatelimitNamespace, identifier: str
) -> RatelimitOverride:
    override = _stored(session, namespace.id, identifier)
    if override is None:
        raise NotFound(NO_OVERRIDE.format(identifier=identifier, namespace=namespace.name))
    return override


def set_override(
    session: Session, *, namespace_id: str, identifier: str, limit: int, duration: int
) -> RatelimitOverride:
    """Creates the override, or changes the one already set for this identifier."""
    override = _stored(session, namespace_id, identifier)
    if override is None:
        override = RatelimitOverride(
            id=new_id("ratelimit_override"),
            namespace_id=namespace_id,
            identifier=identifier,
            wildcard=WILDCARD in identifier,
            limit=limit,
            duration=duration,
        )
        session.add(override)
        try:
            session.flush()
            return override
        except IntegrityError:  # a concurrent request set it first: change theirs
            session.rollback()
            override = _stored(session, namespace_id, identifier)
            if override is None:
                raise
    override.limit = limit
    override.duration = duration
    session.flush()
    return override


def list_overrides(
    session: Session, *, namespace_id: str, limit: int, cursor: str | None
) -> tuple[list[RatelimitOverride], Pagination]:
    query = select(RatelimitOverride).where(RatelimitOverride.namespace_id == namespace_id)
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(str,))
        query = query.where(RatelimitOverride.id > after)
    rows = session.scalars(query.order_by(RatelimitOverride.id).limit(limit + 1)).all()
    return page(rows, limit=limit, cursor_of=lambda override: encode_cursor(override.id))


def override_for(
    session: Session, *, namespace_id: str, identifier: str
) -> RatelimitOverride | None:
    """The override that applies to `identifier`, if any (see the module's docstring)."""
    candidates = session.scalars(
        select(RatelimitOverride).where(
            RatelimitOverride.namespace_id == namespace_id,
            or_(RatelimitOverride.identifier == identifier, RatelimitOverride.wildcard),
        )
    ).all()
    return best_match(identifier, candidates)


def best_match(identifier: str, overrides: Iterable[RatelimitOverride]) -> RatelimitOverride | None:
    candidates = list(overrides)
    exact = next((o for o in candidates if o.identifier == identifier), None)
    if exact is not None:
        return exact
    # Sorted first so that of equally specific patterns every process picks the same one.
    matching = sorted(
        (o for o in candidates if matches(o.identifier, identifier)), key=lambda o: o.identifier
    )
    return max(matching, key=lambda o: len(o.identifier.replace(WILDCARD, "")), default=None)


def matches(pattern: str, identifier: str) -> bool:
    """Whether `identifier` is `pattern` with each `*` replaced by some run of characters.
    Greedy from the left, so time stays linear however many `*` a pattern holds."""
    if WILDCARD not in pattern:
        return pattern == identifier
    first, *middle, last = pattern.split(WILDCARD)
    end = len(identifier) - len(last)
    if end < len(first) or not identifier.startswith(first) or not identifier.endswith(last):
        return False
    at = len(first)
    for part in middle:
        found = identifier.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True


def override_out(override: RatelimitOverride) -> OverrideOut:
    return OverrideOut(
        override_id=override.id,
        identifier=override.identifier,
        limit=override.limit,
        duration=override.duration,
    )
