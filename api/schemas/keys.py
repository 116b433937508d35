"""apis.* and keys.*: keyspaces and the keys in them, as Unkey's v2 bodies spell them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from api.schemas.base import Cursor, Input, Limit, Output

Id = Annotated[str, StringConstraints(min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_]+$")]
ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")
]
PermissionSlug = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_:\-.*]+$")
]
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Meta = Annotated[dict[str, Any], Field(max_length=100)]
Unix = Annotated[int, Field(ge=0, le=4102444800000)]
Interval = Literal["daily", "monthly"]


class CreateApi(Input):
    name: Annotated[str, StringConstraints(min_length=3, max_length=256)]


class ApiRef(Input):
    api_id: Annotated[str, StringConstraints(min_length=3, max_length=255)]


class ListKeys(Input):
    api_id: Annotated[str, StringConstraints(min_length=1)]
    limit: Limit = 100
    cursor: Cursor | None = None
    external_id: Annotated[str, StringConstraints(min_length=1)] | None = None
    decrypt: bool = False
    revalidate_keys_cache: bool = False


class ApiCreated(Output):
    api_id: str


class ApiOut(Output):
    id: str
    name: str


class Refill(Input):
    interval: Interval
    amount: Annotated[int, Field(ge=1)]
    refill_day: Annotated[int, Field(ge=1, le=31)] | None = None

    @model_validator(mode="after")
    def _day_is_monthly(self) -> Refill:
        if self.refill_day is not None and self.interval != "monthly":
            raise ValueError("refillDay is only allowed with interval 'monthly'")
        return self


class Credits(Input):
    remaining: Annotated[int, Field(ge=0)] | None
    refill: Refill | None = None


class UpdateCredits(Input):
    remaining: Annotated[int, Field(ge=0)] | None = None
    refill: Refill | None = None


class RatelimitIn(Input):
    name: Annotated[str, StringConstraints(min_length=3, max_length=128)]
    limit: Annotated[int, Field(ge=1)]
    duration: Annotated[int, Field(ge=1000)]
    auto_apply: bool = False


class KeySettings(Input):
    """What a new key is, whether its secret is made here (createKey) or brought along
    as a hash (migrateKeys)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    external_id: ExternalId | None = None
    meta: Meta | None = None
    roles: Annotated[list[RoleName], Field(max_length=100)] | None = None
    permissions: Annotated[list[PermissionSlug], Field(max_length=1000)] | None = None
    expires: Unix | None = None
    credits: Credits | None = None
    ratelimits: Annotated[list[RatelimitIn], Field(max_length=50)] | None = None
    enabled: bool = True


class CreateKey(KeySettings):
    api_id: Id
    prefix: (
        Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^\w+$")] | None
    ) = None
    byte_length: Annotated[int, Field(ge=16, le=255)] = 16
    recoverable: bool = False


class KeyCreated(Output):
    key_id: str
    key: str  # shown only in this response: only its SHA-256 hash is stored


class MigrateKey(KeySettings):
    hash: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class MigrateKeys(Input):
    """Keys kept elsewhere as hashes; `migrationId` names how they were hashed."""

    migration_id: Annotated[str, StringConstraints(min_length=3, max_length=255)]
    api_id: Id
    keys: Annotated[list[MigrateKey], Field(min_length=1, max_length=1000)]


class KeyMigrated(Output):
    hash: str
    key_id: str


class KeysMigrated(Output):
    migrated: list[KeyMigrated]
    failed: list[str]  # hashes of keys dockyard already holds


class GetKey(Input):
    key_id: Id
    decrypt: bool = False


class DeleteKey(Input):
    key_id: Id
    permanent: bool = False


class UpdateKey(Input):
    """Omitted fields stay as they are; null clears name, externalId, meta, expires,
    credits (unlimited) and ratelimits."""

    key_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    external_id: ExternalId | None = None
    meta: Meta | None = None
    expires: Unix | None = None
    credits: UpdateCredits | None = None
    ratelimits: Annotated[list[RatelimitIn], Field(max_length=50)] | None = None
    enabled: bool | None = None
    roles: Annotated[list[RoleName], Field(max_length=100)] | None = None
    permissions: Annotated[list[PermissionSlug], Field(max_length=1000)] | None = None


class RerollKey(Input):
    key_id: Id
    expiration: Annotated[int, Field(ge=0)] | None  # required, may be null


class UpdateKeyCredits(Input):
    key_id: Annotated[str, StringConstraints(min_length=3)]
    operation: Literal["set", "increment", "decrement"]
    value: Annotated[int, Field(ge=0)] | None = None


class WhoAmI(Input):
    key: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class RefillOut(Output):
    interval: Interval
    amount: int
    refill_day: int | None = None


class CreditsOut(Output):
    remaining: int | None
    refill: RefillOut | None = None

    @model_serializer(mode="wrap")
    def _keep_remaining(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # `remaining: null` means unlimited, and Unkey's SDKs require the field.
        data: dict[str, Any] = handler(self)
        data.setdefault("remaining", None)
        return data


class RatelimitOut(Output):
    id: str
    name: str
    limit: int
    duration: int
    auto_apply: bool


class IdentityOut(Output):
    id: str
    external_id: str
    meta: dict[str, Any] | None = None


class KeyOut(Output):
    key_id: str
    start: str
    enabled: bool
    created_at: int
    name: str | None = None
    meta: dict[str, Any] | None = None
    updated_at: int | None = None
    last_used_at: int | None = None
    expires: int | None = None
    permissions: list[str] | None = None
    roles: list[str] | None = None
    credits: CreditsOut | None = None
    identity: IdentityOut | None = None
    ratelimits: list[RatelimitOut] | None = None
