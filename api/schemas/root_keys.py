"""rootKeys.*: the keys that authenticate this API, scoped by permission."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)

from api.schemas.base import Cursor, Input, Limit, Output

KeyId = Annotated[str, StringConstraints(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_]+$")]
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Permission = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Permissions = Annotated[list[Permission], Field(max_length=1000)]


class CreateRootKey(Input):
    permissions: Permissions
    name: KeyName | None = None
    expires: Annotated[int, Field(ge=0)] | None = None  # unix ms, strictly in the future


class RootKeyRef(Input):
    key_id: KeyId


class ListRootKeys(Input):
    limit: Limit = 100
    cursor: Cursor | None = None


class UpdateRootKey(Input):
    """Omitted fields stay; `name: null` removes the name; `permissions` replaces them all."""

    key_id: KeyId
    name: KeyName | None = None
    enabled: bool | None = None
    permissions: Permissions | None = None


class RerollRootKey(Input):
    key_id: KeyId
    # Required, and may be null: ms until the original key expires (0 revokes it now).
    expiration: Annotated[int, Field(ge=0)] | None


class RootKeyCreated(Output):
    key_id: str
    key: str  # shown only in this response


class RootKeyOut(Output):
    key_id: str
    name: str | None
    start: str
    end: str
    enabled: bool
    created_at: int
    last_used_at: int  # 0 until the key is first used
    expires: int | None
    permissions: list[str]

    @model_serializer(mode="wrap")
    def _keep_nulls(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # Unkey sends `name` and `expires` as null rather than leaving them out, and its
        # SDKs require them; every other response leaves absent values out.
        data: dict[str, Any] = handler(self)
        for field in ("name", "expires"):
            data.setdefault(field, None)
        return data
