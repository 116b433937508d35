"""The request id: one per request, in its response body, its error body and its logs."""

from __future__ import annotations

from fastapi import Request

from api.schemas.base import Meta
from dockyard.ids import new_id


def request_id(request: Request) -> str:
    existing = getattr(request.state, "request_id", None)
    if isinstance(existing, str):
        return existing
    created = new_id("request")
    request.state.request_id = created
    return created


def meta(request: Request) -> Meta:
    return Meta(request_id=request_id(request))
