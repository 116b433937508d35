"""The keyauth rule: a key from the request, verified like keys.verifyKey verifies it.

The key is looked for in each location in order (default: `Authorization: Bearer`). Its
SHA-256 finds the record in the replica's KeyCache; dockyard.verification decides in
Unkey's order. Answers: 401 for a missing, unknown, disabled or expired key; 403 for
missing permissions; 429 (with Retry-After) for a rate limit or spent credits; 503 when
the key cannot be checked at all (fail closed). A valid key becomes the principal.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from dockyard import verification as checks
from dockyard.permission_query import Query, parse
from sentinel import problems
from sentinel.key_cache import KeyCache, KeysUnavailable
from sentinel.limits import Limiter, limited
from sentinel.policies.matching import RequestView
from sentinel.policies.rules import Exchange

MISSING = "an API key is required: send it as {where}"
REJECTED = {
    checks.NOT_FOUND: (401, "the API key is not valid"),
    checks.DISABLED: (401, "the API key is disabled"),
    checks.EXPIRED: (401, "the API key has expired"),
    checks.INSUFFICIENT_PERMISSIONS: (403, "the API key lacks the permissions this needs"),
}
UNAVAILABLE = "the API key cannot be checked right now; try again shortly"
SPENT = "the API key has no credits left"
KEY_LIMITED = "too many requests for this API key (limit '{name}')"

SpendCredits = Callable[[str, int], tuple[bool, int | None]]


class Keyauth:
    def __init__(
        self,
        spec: dict[str, Any],
        *,
        keys: KeyCache,
        limiter: Limiter,
        spend_credits: SpendCredits,
    ) -> None:
        self._keyspaces = tuple(spec["keyspaces"])
        self._locations = list(spec.get("locations") or [{"bearer": {}}])
        self._finders = tuple(_finder(location) for location in self._locations)
        self._query: Query | None = (
            parse(spec["permissionQuery"]) if spec.get("permissionQuery") else None
        )
        self._ratelimits = list(spec.get("ratelimits") or [])
        self._cost = int(spec.get("credits", 1))
        self._keys = keys
        self._limiter = limiter
        self._spend = spend_credits
        self._missing = problems.Problem(
            401, "key_missing", MISSING.format(where=_describe(self._locations))
        )
        self._missing.headers["www-authenticate"] = "Bearer"

    def locate(self, exchange: Exchange) -> str | None:
        for find in self._finders:
            key = find(exchange.view)
            if key:
                return key
        return None

    async def check(self, exchange: Exchange) -> Response | None:
        key = self.locate(exchange)
        if key is None:
            return self._missing
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        cached, record = self._keys.cached(key_hash)
        if not cached:
            try:
                record = await self._keys.get(key_hash)
            except KeysUnavailable:
                return problems.Problem(503, "key_unverifiable", UNAVAILABLE)
        code = checks.precheck(
            record, now_ms=checks.now_ms(), keyspaces=self._keyspaces, query=self._query
        )
        if code is not None or record is None:
            status, detail = REJECTED[code or checks.NOT_FOUND]
            return problems.Problem(status, code.lower() if code else "not_found", detail)
        # Identified before its limits and credits, so a refused request is logged as
        # this key's; the principal reaches the app only when every policy passes.
        exchange.identify(record.principal, record.principal_json)
        if self._ratelimits or record.ratelimits or record.identity_ratelimits:
            for check in checks.limit_checks(record, self._ratelimits):
                decision = await self._limiter.take(
                    check.counter, check.limit, check.duration, check.cost
                )
                exchange.decisions.append(decision)
                if not decision.passed:
                    return limited(decision, KEY_LIMITED.format(name=check.name))
        if record.limited_credits and self._cost > 0:
            try:
                spent, _ = await asyncio.to_thread(self._spend, record.id, self._cost)
            except Exception:
                return problems.Problem(503, "key_unverifiable", UNAVAILABLE)
            if not spent:
                return _spent()
        return None


def _spent() -> Response:
    return problems.Problem(429, "usage_exceeded", SPENT)


def _describe(locations: list[dict[str, Any]]) -> str:
    where = []
    for location in locations:
        if "bearer" in location:
            where.append("`Authorization: Bearer <key>`")
        elif "header" in location:
            where.append(f"the `{location['header']['name']}` header")
        else:
            where.append(f"the `{location['queryParam']['name']}` query parameter")
    return " or ".join(where)


Finder = Callable[[RequestView], str | None]


def _finder(location: dict[str, Any]) -> Finder:
    """How to find the key in one of the policy's locations."""
    if "bearer" in location:
        return _bearer
    if "header" in location:
        name = str(location["header"]["name"]).lower().encode("latin-1")
        strip = location["header"].get("stripPrefix") or ""

        def in_header(view: RequestView) -> str | None:
            value = _first(view, name)
            if value and strip and value.startswith(strip):
                value = value[len(strip) :]
            return value.strip() if value else None

        return in_header
    param = str(location["queryParam"]["name"])
    return lambda view: view.query(param) or None


def _first(view: RequestView, name: bytes) -> str | None:
    """A header's first value; a scan, cheaper than RequestView's table for one name."""
    for key, value in view.scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(view: RequestView) -> str | None:
    value = _first(view, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None
