"""The logging rule: one JSON line per request its policies match, on `sentinel.requests`.

The line always has method, host, path, status and latency; request headers (with the
user agent and client address), response headers, bodies and the query are each an
opt-in of the policy, and several matching logging policies add up. The Authorization
header, cookies and every header or query parameter a keyauth policy reads keys from are
redacted before anything is written. Bodies are kept up to MAX_CAPTURE bytes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Send

from sentinel.policies.matching import RequestView

log = logging.getLogger("sentinel.requests")

MAX_CAPTURE = 8 * 1024
REDACTED = "[REDACTED]"
ALWAYS_REDACTED = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@dataclass
class Capture:
    request_headers: bool = False
    response_headers: bool = False
    request_body: bool = False
    response_body: bool = False
    query: bool = False
    secret_headers: frozenset[str] = ALWAYS_REDACTED
    secret_params: frozenset[str] = frozenset()
    extras: dict[str, Any] = field(default_factory=dict)

    def add(self, spec: dict[str, Any]) -> None:
        for name, attribute in (
            ("requestHeaders", "request_headers"),
            ("responseHeaders", "response_headers"),
            ("requestBody", "request_body"),
            ("responseBody", "response_body"),
            ("query", "query"),
        ):
            if spec.get(name):
                setattr(self, attribute, True)


def secrets_of(policies: list[dict[str, Any]]) -> tuple[frozenset[str], frozenset[str]]:
    """Headers and query parameters that carry keys, from every keyauth policy."""
    headers, params = set(ALWAYS_REDACTED), set()
    for policy in policies:
        for location in (policy.get("keyauth") or {}).get("locations") or []:
            if "header" in location:
                headers.add(str(location["header"]["name"]).lower())
            elif "queryParam" in location:
                params.add(str(location["queryParam"]["name"]))
    return frozenset(headers), frozenset(params)


def _headers(raw: list[tuple[bytes, bytes]], secret: frozenset[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        out[key] = REDACTED if key in secret else value.decode("latin-1")
    return out


def _body(data: bytes) -> str:
    text = data[:MAX_CAPTURE].decode("utf-8", errors="replace")
    return text + ("…" if len(data) > MAX_CAPTURE else "")


def recorder(capture: Capture, view: RequestView, body: bytes | None) -> Any:
    """A send filter that writes the request's log line once the response is complete."""
    started = time.monotonic()
    scope = view.scope
    entry: dict[str, Any] = {
        "method": view.method,
        "host": view.header("host") or "",
        "path": view.path,
    }
    if capture.request_headers:
        entry["requestHeaders"] = _headers(scope["headers"], capture.secret_headers)
        entry["userAgent"] = view.header("user-agent")
        entry["clientIp"] = view.client_ip
    if capture.query:
        raw = scope.get("query_string", b"").decode("latin-1")
        entry["query"] = {
            k: (REDACTED if k in capture.secret_params else v)
            for k, v in parse_qsl(raw, keep_blank_values=True)
        }
    if capture.request_body and body is not None:
        entry["requestBody"] = _body(body)

    def wrap(send: Send) -> Send:
        response_body = bytearray()

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                if capture.response_headers:
                    entry["responseHeaders"] = _headers(
                        list(message.get("headers", [])), capture.secret_headers
                    )
            elif message["type"] == "http.response.body":
                if capture.response_body and len(response_body) <= MAX_CAPTURE:
                    response_body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    if capture.response_body:
                        entry["responseBody"] = _body(bytes(response_body))
                    entry["latencyMs"] = round((time.monotonic() - started) * 1000, 2)
                    log.info(json.dumps({**entry, **capture.extras}, default=str))
            await send(message)

        return recording

    return wrap
