"""One router per resource, each operation a `POST /v2/<resource>.<operation>`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from api.errors import ERROR_RESPONSES


class UnkeyRoute(APIRoute):
    """Leaves absent values out of responses instead of sending `null`, on every operation:
    Unkey's SDKs treat a field as either present with a value or missing."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(path, endpoint, **kwargs)


def resource_router(resource: str) -> APIRouter:
    return APIRouter(tags=[resource], responses=ERROR_RESPONSES, route_class=UnkeyRoute)
