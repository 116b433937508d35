"""ratelimit.*Override: per-identifier limits that replace what ratelimit.limit is asked for."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.base import Cursor, Input, Limit, Output

NamespaceRef = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Duration = Annotated[int, Field(ge=1000, le=2_592_000_000)]  # 1 s to 30 days, as Unkey
# What ratelimit.limit accepts as an identifier, and `*` for any run of those characters.
IdentifierPattern = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.:/*-]+$")
]


class SetOverride(Input):
    """`limit: 0` refuses every request of the matching identifiers that costs anything."""

    namespace: NamespaceRef
    identifier: IdentifierPattern
    limit: Annotated[int, Field(ge=0, le=2**63 - 1)]
    duration: Duration


class OverrideRef(Input):
    """`identifier`: exactly as it was set, wildcards included."""

    namespace: NamespaceRef
    identifier: IdentifierPattern


class ListOverrides(Input):
    namespace: NamespaceRef
    cursor: Cursor | None = None
    limit: Limit = 10


class OverrideSet(Output):
    override_id: str


class OverrideOut(Output):
    """Unkey's `RatelimitOverride`."""

    override_id: str
    identifier: str
    limit: int
    duration: int
