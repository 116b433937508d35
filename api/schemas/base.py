"""The wire conventions every Unkey v2 body follows, in one place.

Bodies are camelCase JSON. Requests reject unknown fields, as Unkey's schemas do
(`additionalProperties: false`), so a typo is a 400 rather than a silently ignored setting.
Responses leave absent values out (api.routes.UnkeyRoute) instead of sending `null`.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

from dockyard.ids import SLUG_PATTERN

SLUG_RULE = (
    "must be 3 to 63 lowercase letters, digits or '-', starting and ending with a letter "
    "or digit, because it becomes part of hostnames"
)


def _check_slug(value: str) -> str:
    if len(value) < 3 or not SLUG_PATTERN.match(value):
        raise ValueError(f"slug {value!r} {SLUG_RULE}")
    return value


# A prefixed id (`proj_...`) or a slug: Unkey's ResourceIdentifier.
ResourceIdentifier = Annotated[
    str, StringConstraints(min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_-]+$")
]
Slug = Annotated[str, AfterValidator(_check_slug)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Limit = Annotated[int, Field(ge=1, le=100)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Search = Annotated[str, StringConstraints(max_length=256)]


NUL_CHARACTER = (
    "must not contain the NUL character (\\u0000): no text dockyard stores or passes on "
    "can hold one"
)


def _has_nul(value: object) -> bool:
    """Whether a string anywhere in a field's value (list items, dict keys and values)
    holds U+0000, which PostgreSQL text, process arguments and HTTP headers all refuse."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False


class Input(BaseModel):
    """A request body. No text in it may hold a NUL character: caught here, it is a 400
    naming the field, instead of a database error deep inside an operation."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # Nested request bodies are Inputs too: each checks its own fields.
        if _has_nul(value):
            raise ValueError(NUL_CHARACTER)
        return value


class Output(BaseModel):
    """A response body or a part of one."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


DataT = TypeVar("DataT")


class Meta(Output):
    request_id: str


class Pagination(Output):
    has_more: bool
    cursor: str | None = None


class Envelope(Output, Generic[DataT]):
    meta: Meta
    data: DataT


class Page(Output, Generic[DataT]):
    meta: Meta
    data: list[DataT]
    pagination: Pagination


class Empty(Output):
    """`data: {}` of operations that return nothing, such as deletes."""


class FieldError(Output):
    location: str  # e.g. body.image.dockerImage
    message: str
    fix: str | None = None


class ErrorDetails(Output):
    title: str
    detail: str
    status: int
    type: str
    errors: list[FieldError] | None = None  # on 400s, one per bad field


class ErrorBody(Output):
    """Unkey's error envelope; api.errors answers every failure with it."""

    meta: Meta
    error: ErrorDetails
