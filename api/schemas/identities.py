"""identities.*: who keys belong to, with metadata and rate limits all their keys share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from api.schemas.base import Cursor, Input, Limit, Output, Search
from api.schemas.keys import ExternalId, Meta, RatelimitIn, RatelimitOut

IdentityRef = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Ratelimits = Annotated[list[RatelimitIn], Field(max_length=50)]


class CreateIdentity(Input):
    external_id: ExternalId
    meta: Meta | None = None
    ratelimits: Ratelimits | None = None


class IdentityCreated(Output):
    identity_id: str


class GetIdentity(Input):
    """`identity`: the identity's id or its externalId."""

    identity: IdentityRef


class DeleteIdentity(Input):
    identity: IdentityRef


class UpdateIdentity(Input):
    """Omitted fields stay as they are; `meta: {}` clears the metadata and `ratelimits: []`
    removes every rate limit."""

    identity: IdentityRef
    meta: Meta | None = None
    ratelimits: Ratelimits | None = None


class ListIdentities(Input):
    limit: Limit = 100
    cursor: Cursor | None = None
    search: Search | None = None


class IdentityFull(Output):
    """Unkey's `Identity`: the whole of one, as getIdentity and listIdentities answer."""

    id: str
    external_id: str
    meta: dict[str, Any] | None = None
    ratelimits: list[RatelimitOut] | None = None
