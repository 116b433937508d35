"""The gateway's keyauth and rate-limit rules in one process, without Redis or a server:
the principal an app receives, identifiers taken from it, and the rate-limit headers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from dockyard.keys import hash_key
from dockyard.verification import KeyRecord
from sentinel.headers import PRINCIPAL
from sentinel.key_cache import KeyCache
from sentinel.limits import Limiter
from sentinel.policies.chain import prepare
from sentinel.policies.gateway import Gateway
from sentinel.routing import Route

ROUTE = Route(hostname="shop-acme.localhost", deployment_id="d_1", environment_id="env_1")


def record(key_id: str, external_id: str | None) -> KeyRecord:
    return KeyRecord(
        id=key_id,
        keyspace_id="api_1",
        workspace_id="ws_1",
        key_hash="",
        name=None,
        meta={"plan": "pro"},
        enabled=True,
        expires_at=None,
        limited_credits=False,
        credits=None,
        ratelimits=(),
        permissions=frozenset({"orders.read"}),
        roles=(),
        identity_id="id_1" if external_id else None,
        external_id=external_id,
    )


KEYS = {
    hash_key("phone-key"): record("key_phone", "team_1"),
    hash_key("laptop-key"): record("key_laptop", "team_1"),
    hash_key("solo-key"): record("key_solo", None),
}


def gateway(*policies: dict[str, Any]) -> Gateway:
    made = Gateway(
        environment_id="env_1",
        keys=KeyCache(KEYS.get),
        limiter=Limiter(None),
        spend_credits=lambda _key, _cost: (True, None),
    )
    named = [{"id": f"pol_{i}", "name": f"p{i}", **p} for i, p in enumerate(policies)]
    made.install(ROUTE.deployment_id, named, None)
    return made


async def evaluate(
    chain: Gateway, headers: dict[str, str]
) -> tuple[Response | None, dict[bytes, bytes], list[tuple[bytes, bytes]]]:
    """The rejection (or None), the request headers the app would get, and the response
    headers the policies add."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/orders",
        "raw_path": b"/orders",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.0.0.7", 5000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    rejection = await chain.evaluate(Request(scope, receive), ROUTE)
    _, _, added = prepare(scope, receive, send)
    return rejection, dict(scope["headers"]), added


KEYAUTH = {"keyauth": {"keyspaces": ["api_1"]}}


async def test_a_valid_key_becomes_the_principal_and_a_forged_one_is_dropped() -> None:
    chain = gateway(KEYAUTH)
    forged = {"X-Dockyard-Principal": '{"subject":"admin"}'}
    rejection, seen, _ = await evaluate(chain, {"Authorization": "Bearer phone-key", **forged})
    assert rejection is None
    principal = json.loads(seen[PRINCIPAL])
    assert principal == KEYS[hash_key("phone-key")].principal()
    assert principal["subject"] == "team_1"

    rejection, seen, _ = await evaluate(chain, forged)
    assert rejection is not None and rejection.status_code == 401
    assert PRINCIPAL not in seen


async def test_a_limit_by_authenticated_subject_is_shared_by_an_identitys_keys() -> None:
    limit = {"limit": 2, "windowMs": 60_000, "identifiers": [{"authenticatedSubject": {}}]}
    chain = gateway(KEYAUTH, {"ratelimit": limit})
    statuses = []
    for key in ("phone-key", "laptop-key", "phone-key", "solo-key"):
        rejection, _, added = await evaluate(chain, {"Authorization": f"Bearer {key}"})
        statuses.append(rejection.status_code if rejection else 200)
        limit_header = rejection.headers["x-ratelimit-limit"] if rejection else ""
        assert limit_header == "2" or dict(added)[b"x-ratelimit-limit"] == b"2"
    assert statuses == [200, 200, 429, 200]  # the solo key is a subject of its own


async def test_a_limit_by_principal_field_and_header_together() -> None:
    limit = {
        "limit": 1,
        "windowMs": 60_000,
        "identifiers": [{"principalField": {"path": "meta.plan"}}, {"header": {"name": "X-Org"}}],
    }
    chain = gateway(KEYAUTH, {"ratelimit": limit})
    asked = [("phone-key", "a"), ("solo-key", "a"), ("solo-key", "b")]
    statuses = []
    for key, org in asked:
        rejection, _, added = await evaluate(
            chain, {"Authorization": f"Bearer {key}", "X-Org": org}
        )
        statuses.append(rejection.status_code if rejection else 200)
    assert statuses == [200, 429, 200]  # same plan and org, then another org
    assert dict(added)[b"x-ratelimit-remaining"] == b"0"  # the last, admitted


async def test_keys_in_a_header_with_a_prefix_or_in_the_query() -> None:
    locations = [
        {"header": {"name": "X-API-Key", "stripPrefix": "Key "}},
        {"queryParam": {"name": "k"}},
    ]
    chain = gateway({"keyauth": {"keyspaces": ["api_1"], "locations": locations}})
    assert (await evaluate(chain, {"X-API-Key": "Key solo-key"}))[0] is None
    assert (await evaluate(chain, {"X-API-Key": "solo-key"}))[0] is None
    rejection = (await evaluate(chain, {"Authorization": "Bearer solo-key"}))[0]
    assert rejection is not None and rejection.status_code == 401
