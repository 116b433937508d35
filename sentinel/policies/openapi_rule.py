"""The openapi rule: requests validated against the app's own OpenAPI document.

The document is the one the deployment serves at its runtime `openapiSpecPath`: the
replica fetches it from an instance once per deployment (in a worker thread) and keeps
it for the deployment's life, since a deployment never changes. No path configured, or
no document to be had: the rule lets requests through (as Unkey's does without a spec),
and asks again after RETRY_SECONDS. Validation is openapi-core's: path, operation,
parameters and body against their schemas; a failure is a 400 with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import Response

from sentinel import problems
from sentinel.policies.chain import read_body
from sentinel.policies.rules import Exchange
from sentinel.routing import Route

if TYPE_CHECKING:
    from openapi_core import OpenAPI

# openapi-core and PyYAML are imported where a document is used: they take about half a
# second to load, and every Sentinel replica would pay that at start without this rule.

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0
FETCH_TIMEOUT = 3.0
MAX_BODY = 10 * 1024 * 1024
INVALID = "the request does not match the app's OpenAPI document: {reason}"
TOO_LARGE = "the request body is too large to validate (more than {limit} bytes)"


def load_document(text: bytes) -> OpenAPI:
    import yaml  # type: ignore[import-untyped]
    from openapi_core import OpenAPI

    spec: dict[str, Any] = json.loads(text) if text.lstrip()[:1] == b"{" else yaml.safe_load(text)
    # Server URLs name where the app is published, which is not where the gateway sees it:
    # keep only their paths (a base path such as /v1 still counts).
    servers = spec.get("servers") or [{"url": "/"}]
    spec["servers"] = [{"url": urlparse(str(s.get("url", "/"))).path or "/"} for s in servers]
    return OpenAPI.from_dict(spec)


class OpenapiDocuments:
    """Each deployment's document, fetched on first need."""

    def __init__(self) -> None:
        self._documents: dict[str, OpenAPI | None] = {}
        self._retry_at: dict[str, float] = {}
        self._fetching: dict[str, asyncio.Task[None]] = {}

    async def get(self, route: Route, spec_path: str | None) -> OpenAPI | None:
        if not spec_path:
            return None
        deployment = route.deployment_id
        if deployment in self._documents:
            return self._documents[deployment]
        if time.monotonic() < self._retry_at.get(deployment, 0.0):
            return None
        task = self._fetching.get(deployment)
        if task is None:
            task = asyncio.create_task(self._fetch(route, spec_path))
            self._fetching[deployment] = task
        await asyncio.shield(task)
        return self._documents.get(deployment)

    async def _fetch(self, route: Route, spec_path: str) -> None:
        deployment = route.deployment_id
        try:
            for address in (*route.local, *route.remote):
                try:
                    text = await asyncio.to_thread(_download, f"http://{address}{spec_path}")
                    self._documents[deployment] = load_document(text)
                    return
                except Exception as error:
                    log.warning(
                        "no OpenAPI document for %s from %s: %s", deployment, address, error
                    )
            self._retry_at[deployment] = time.monotonic() + RETRY_SECONDS
        finally:
            self._fetching.pop(deployment, None)


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - http only
        data: bytes = response.read(MAX_BODY)
        return data


class OpenapiRule:
    def __init__(self, documents: OpenapiDocuments, spec_path: str | None) -> None:
        self._documents = documents
        self._spec_path = spec_path

    async def check(self, exchange: Exchange) -> Response | None:
        connection = exchange.connection
        if not isinstance(connection, Request):
            return None  # a WebSocket handshake has nothing to validate against
        document = await self._documents.get(exchange.route, self._spec_path)
        if document is None:
            return None
        body = await read_body(connection, MAX_BODY)
        if body is None:
            return problems.Problem(413, "body_too_large", TOO_LARGE.format(limit=MAX_BODY))
        from openapi_core.contrib.starlette.requests import StarletteOpenAPIRequest
        from openapi_core.exceptions import OpenAPIError

        request = StarletteOpenAPIRequest(connection, body or None)
        try:
            document.validate_request(request)
        except OpenAPIError as error:
            return problems.Problem(400, "openapi_invalid", INVALID.format(reason=_reason(error)))
        return None


def _reason(error: BaseException) -> str:
    reason = str(error) or type(error).__name__
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        first = schema_errors[0]
        where = "/".join(str(part) for part in getattr(first, "path", ()))
        reason += f": {getattr(first, 'message', first)}" + (f" (at {where})" if where else "")
    elif cause is not None and str(cause):
        reason += f": {cause}"
    return reason
