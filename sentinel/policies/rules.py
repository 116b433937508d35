"""The rules a policy can hold, except key auth, JWT and OpenAPI (their own modules).

Every rule has `async check(exchange) -> Response | None`: None lets the request go on
to the next policy. What a rule learns for the ones after it (the principal, the rate
limit closest to running out) it puts on the Exchange.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from starlette.responses import Response

from dockyard.ratelimit import Decision, counter_key
from sentinel import problems
from sentinel.limits import Limiter, limited
from sentinel.policies.matching import RequestView, ip_in, networks
from sentinel.routing import Route

DENIED = "the request was denied by the gateway policy '{policy}'"
IP_DENIED = "requests from {ip} are not allowed by the gateway policy '{policy}'"
RATE_LIMITED = "too many requests: the limit of policy '{policy}' is {limit} per {window:g} s"


class Exchange:
    """One request on its way through the policies."""

    __slots__ = (
        "_made",
        "_principal",
        "connection",
        "decisions",
        "principal_json",
        "route",
        "view",
    )

    def __init__(self, connection: HTTPConnection, view: RequestView, route: Route) -> None:
        self.connection = connection
        self.view = view
        self.route = route
        self.decisions: list[Decision] = []
        self.principal_json: bytes | None = None  # the principal already encoded, when known
        self._principal: dict[str, Any] | None = None
        self._made: Callable[[], dict[str, Any]] | None = None

    @property
    def principal(self) -> dict[str, Any] | None:
        """Who the request speaks for, once a rule identified it."""
        if self._principal is None and self._made is not None:
            self._principal = self._made()
        return self._principal

    @property
    def identified(self) -> bool:
        return self._principal is not None or self._made is not None

    def identify(
        self, principal: dict[str, Any] | Callable[[], dict[str, Any]], encoded: bytes | None = None
    ) -> None:
        """Who the request speaks for, from here on: the principal, or what makes it (built
        only if a later rule reads it); `encoded` when it is already JSON."""
        if callable(principal):
            self._principal, self._made = None, principal
        else:
            self._principal, self._made = principal, None
        self.principal_json = encoded

    def tightest(self) -> Decision | None:
        """The rate limit closest to refusing; the one the response headers report."""
        if len(self.decisions) < 2:
            return self.decisions[0] if self.decisions else None
        return min(self.decisions, key=lambda d: d.remaining)


class Rule(Protocol):
    async def check(self, exchange: Exchange) -> Response | None: ...


class Firewall:
    def __init__(self, policy: str) -> None:
        self._problem = problems.Problem(403, "denied", DENIED.format(policy=policy))

    async def check(self, exchange: Exchange) -> Response | None:
        return self._problem


class IpRules:
    """Deny wins; a non-empty allow list admits only its ranges. IPv4 and IPv6."""

    def __init__(self, policy: str, spec: dict[str, Any]) -> None:
        self._policy = policy
        self._allow = networks(spec.get("allow") or [])
        self._deny = networks(spec.get("deny") or [])

    async def check(self, exchange: Exchange) -> Response | None:
        ip = exchange.view.client_ip
        if ip_in(ip, self._deny) or (self._allow and not ip_in(ip, self._allow)):
            detail = IP_DENIED.format(ip=ip or "an unknown address", policy=self._policy)
            return problems.Problem(403, "ip_denied", detail)
        return None


def principal_field(principal: dict[str, Any] | None, path: str) -> str:
    """A dotted path into the principal (`meta.plan`, `claims.org`), as text."""
    value: Any = principal or {}
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class Ratelimit:
    """`limit` per `windowMs` for each combination of the identifier sources' values."""

    def __init__(
        self, policy_id: str, policy: str, spec: dict[str, Any], limiter: Limiter, scope: str
    ) -> None:
        self._policy = policy
        self._limit = int(spec["limit"])
        self._window = int(spec["windowMs"])
        self._parts = tuple(_identifier_part(source) for source in spec["identifiers"])
        self._limiter = limiter
        self._prefix = counter_key("policy", scope, policy_id)
        self._detail = RATE_LIMITED.format(
            policy=policy, limit=self._limit, window=self._window / 1000
        )

    def _identifier(self, exchange: Exchange) -> str:
        if len(self._parts) == 1:
            return self._parts[0](exchange)
        return "\x1f".join(part(exchange) for part in self._parts)

    async def check(self, exchange: Exchange) -> Response | None:
        key = f"{self._prefix}:{self._identifier(exchange)}"
        decision = await self._limiter.take(key, self._limit, self._window)
        exchange.decisions.append(decision)
        if not decision.passed:
            return limited(decision, self._detail)
        return None


def _identifier_part(source: dict[str, Any]) -> Callable[[Exchange], str]:
    """What one identifier source takes from a request."""
    if "remoteIp" in source:
        return lambda exchange: exchange.view.client_ip
    if "header" in source:
        name = str(source["header"]["name"]).lower()
        return lambda exchange: exchange.view.header(name) or ""
    if "authenticatedSubject" in source:
        return lambda exchange: str((exchange.principal or {}).get("subject", ""))
    if "path" in source:
        return lambda exchange: exchange.view.path
    path = source["principalField"]["path"]
    return lambda exchange: principal_field(exchange.principal, path)
