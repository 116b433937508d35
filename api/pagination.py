"""Cursor pagination: fetch one row more than asked to learn whether another page exists.

A cursor is opaque to callers. It is omitted on the last page, which is how Unkey's SDKs
know to stop (they follow `pagination.cursor` while it is present).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from api.errors import BadRequest
from api.schemas.base import Pagination

RowT = TypeVar("RowT")
INVALID_CURSOR = "is not a cursor this API returned"
CURSOR_FIX = "Pass `pagination.cursor` from the previous response unchanged, or omit it."


def page(
    rows: Sequence[RowT], *, limit: int, cursor_of: Callable[[RowT], str]
) -> tuple[list[RowT], Pagination]:
    """The first `limit` of `limit + 1` fetched rows, and where the next page starts."""
    kept = list(rows[:limit])
    if len(rows) > limit and kept:
        return kept, Pagination(has_more=True, cursor=cursor_of(kept[-1]))
    return kept, Pagination(has_more=False)


def encode_cursor(*parts: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The parts of a cursor made by `encode_cursor`; a 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != len(kinds)
        or not all(isinstance(part, kind) for part, kind in zip(parts, kinds, strict=True))
    ):
        raise BadRequest.at("body.cursor", INVALID_CURSOR, CURSOR_FIX)
    return tuple(parts)
