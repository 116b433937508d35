"""The policy chain: the seam where gateway policies run before a request is forwarded.

A policy looks at a request bound for a route and either lets it pass (None) or answers
it (a Response: 401 for a missing key, 429 with Retry-After, ...). The first answer wins
and the app never sees the request. Policies come in the order the environment lists
them (key auth, rate limit, firewall, IP rules, JWT, OpenAPI validation, logging).

The edge of this issue runs an empty chain. When per-environment replicas arrive, each
replica owns its environment's chain; the edge keeps only routing and forwarding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.requests import HTTPConnection
from starlette.responses import Response

from sentinel.routing import Route


class Policy(Protocol):
    async def evaluate(self, connection: HTTPConnection, route: Route) -> Response | None:
        """None lets the request pass; a Response rejects it with that answer.

        `connection` is a Request for HTTP (a policy that needs the body reads it there)
        and a WebSocket before its handshake; headers, client and URL are on both.
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
