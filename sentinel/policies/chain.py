"""The policy chain: the seam where gateway policies run before a request is forwarded.

A policy looks at a request bound for a route and either lets it pass (None) or answers
it (a Response: 401 for a missing key, 429 with Retry-After, ...). The first answer wins
and the app never sees the request. Policies come in the order the environment lists
them (key auth, rate limit, firewall, IP rules, JWT, OpenAPI validation, logging).

A policy that lets a request pass may still leave work for the edge, in the request's
own slot of the ASGI scope (`exchange(connection)`):
- response headers for whatever answers (rate-limit headers), and filters over `send`
  (the request log sees the status and the body);
- a request body it read (OpenAPI validation), which the edge replays to the instance.
The edge applies them with `prepare` after the chain, to a pass and a rejection alike.

The edge's own chain is empty: an environment's policies run in that environment's
Sentinel replicas (sentinel.replica, sentinel.policies.gateway).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from sentinel.routing import Route

EXCHANGE = "dockyard.exchange"
SendFilter = Callable[[Send], Send]


class Policy(Protocol):
    async def evaluate(self, connection: HTTPConnection, route: Route) -> Response | None:
        """None lets the request pass; a Response rejects it with that answer.

        `connection` is a Request for HTTP (a policy that needs the body reads it with
        `read_body`) and a WebSocket before its handshake; headers, client and URL are on
        both.
        """
        ...


class PolicyChain:
    def __init__(self, policies: Sequence[Policy] = ()) -> None:
        self._policies = tuple(policies)

    def __bool__(self) -> bool:
        # Lets the hot path skip building a Request when there is nothing to evaluate.
        return bool(self._policies)

    async def evaluate(self, connection: HTTPConnection, route: Route) -> Response | None:
        for policy in self._policies:
            rejection = await policy.evaluate(connection, route)
            if rejection is not None:
                return rejection
        return None


def exchange(connection: HTTPConnection) -> dict[str, Any]:
    """This request's slot for what policies leave to the edge."""
    slot: dict[str, Any] = connection.scope.setdefault(EXCHANGE, {})
    return slot


def add_response_headers(connection: HTTPConnection, headers: list[tuple[bytes, bytes]]) -> None:
    exchange(connection).setdefault("headers", []).extend(headers)


def add_send_filter(connection: HTTPConnection, send_filter: SendFilter) -> None:
    exchange(connection).setdefault("filters", []).append(send_filter)


async def read_body(connection: HTTPConnection, limit: int) -> bytes | None:
    """The whole request body, which the instance still gets; None when it is larger than
    `limit` bytes (the policy must then answer: what was read cannot be forwarded)."""
    slot = exchange(connection)
    if "body" in slot:
        body: bytes | None = slot["body"]
        return body
    if not isinstance(connection, Request):
        return None  # a WebSocket handshake has no body
    receive: Callable[[], Awaitable[Message]] = connection.receive
    chunks: list[bytes] = []
    size = 0
    more = True
    while more and size <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        more = message.get("more_body", False)
    slot["body"] = b"".join(chunks) if size <= limit else None
    return slot["body"]  # type: ignore[no-any-return]


def prepare(
    scope: Scope, receive: Receive, send: Send
) -> tuple[Receive, Send, list[tuple[bytes, bytes]]]:
    """The receive and send that carry out what the policies left in the exchange, and the
    response headers they add: whoever answers adds those (a Response through
    `with_headers`, the proxy to the instance's own headers)."""
    slot: dict[str, Any] | None = scope.get(EXCHANGE)
    if not slot:
        return receive, send, []
    if slot.get("body") is not None:
        receive = _replay(slot["body"], receive)
    for send_filter in slot.get("filters", ()):
        send = send_filter(send)
    return receive, send, slot.get("headers") or []


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def with_headers(headers: list[tuple[bytes, bytes]], send: Send) -> Send:
    """`send`, adding these headers to the response's start."""

    async def adding(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *headers]}
        await send(message)

    return adding
