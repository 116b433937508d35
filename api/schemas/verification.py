"""keys.verifyKey: the question and Unkey's answer (always 200; `valid` and `code` tell)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from api.schemas.base import Input, Output
from api.schemas.keys import IdentityOut


class VerifyCredits(Input):
    cost: Annotated[int, Field(ge=0)]


class VerifyRatelimit(Input):
    name: Annotated[str, StringConstraints(min_length=1)]
    cost: Annotated[int, Field(ge=0)] = 1
    limit: Annotated[int, Field(ge=1)] | None = None
    duration: Annotated[int, Field(ge=1000)] | None = None


class VerifyKey(Input):
    key: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    tags: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=1, max_length=512)]],
            Field(max_length=20),
        ]
        | None
    ) = None
    permissions: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    credits: VerifyCredits | None = None
    keyspaces: list[str] | None = None
    ratelimits: list[VerifyRatelimit] | None = None
    migration_id: Annotated[str, StringConstraints(max_length=256)] | None = None


class RatelimitResult(Output):
    exceeded: bool
    id: str
    name: str
    limit: int
    duration: int
    reset: int
    remaining: int
    auto_apply: bool


class Verification(Output):
    valid: bool
    code: str
    key_id: str | None = None
    keyspace_id: str | None = None
    name: str | None = None
    meta: dict[str, Any] | None = None
    expires: int | None = None
    credits: int | None = None
    enabled: bool | None = None
    permissions: list[str] | None = None
    roles: list[str] | None = None
    identity: IdentityOut | None = None
    ratelimits: list[RatelimitResult] | None = None
