"""The rules a policy can hold, except key auth, JWT and OpenAPI (their own modules).

Every rule has `async check(exchange) -> Response | None`: None lets the request go on
to the next policy. What a rule learns for the ones after it (the principal, the rate
limit closest to running out) it puts on the Exchange.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from starlette.responses import Response

from dockyard.ratelimit import Decision, counter_key
from sentinel import problems
from sentinel.limits import Limiter, limited
from sentinel.matching import RequestView, ip_in, networks
from sentinel.routing import Route

DENIED = "the request was denied by the gateway policy '{policy}'"
IP_DENIED = "requests from {ip} are not allowed by the gateway policy '{policy}'"
RATE_LIMITED = "too many requests: the limit of policy '{policy}' is {limit} per {window:g} s"


@dataclass
class Exchange:
    """One request on its way through the policies."""

    connection: HTTPConnection
    view: RequestView
    route: Route
    principal: dict[str, Any] | None = None
    principal_json: bytes | None = None  # the principal already encoded, when known
    decisions: list[Decision] = field(default_factory=list)

    def identify(self, principal: dict[str, Any], encoded: bytes | None = None) -> None:
        """Who the request speaks for, from here on; `encoded` when already JSON."""
        self.principal = principal
        self.principal_json = encoded

    def tightest(self) -> Decision | None:
        """The rate limit closest to refusing; the one the response headers report."""
        return min(self.decisions, key=lambda d: d.remaining) if self.decisions else None


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
        self._sources = list(spec["identifiers"])
        self._limiter = limiter
        self._prefix = counter_key("policy", scope, policy_id)
        self._detail = RATE_LIMITED.format(
            policy=policy, limit=self._limit, window=self._window / 1000
        )

    def _identifier(self, exchange: Exchange) -> str:
        parts = []
        for source in self._sources:
            if "remoteIp" in source:
                parts.append(exchange.view.client_ip)
            elif "header" in source:
                parts.append(exchange.view.header(str(source["header"]["name"]).lower()) or "")
            elif "authenticatedSubject" in source:
                parts.append(str((exchange.principal or {}).get("subject", "")))
            elif "path" in source:
                parts.append(exchange.view.path)
            else:
                parts.append(principal_field(exchange.principal, source["principalField"]["path"]))
        return "\x1f".join(parts)

    async def check(self, exchange: Exchange) -> Response | None:
        key = f"{self._prefix}:{self._identifier(exchange)}"
        decision = await self._limiter.take(key, self._limit, self._window)
        exchange.decisions.append(decision)
        if not decision.passed:
            return limited(decision, self._detail)
        return None
