"""One environment's policies, evaluated in a Sentinel replica before a request is proxied.

Each deployment brings the policies frozen into it at creation; they are compiled once,
when the replica first routes to the deployment (sentinel.replica), and evaluated in
order for every request: the first rejection answers and the app never sees the
request. Logging policies do not gate: every one that matches adds to the request's log
line, rejected or not.

What the app receives: `X-Dockyard-Principal`, JSON naming who a keyauth or jwt policy
verified (any copy the client sent is always removed, with or without policies), and
the response carries X-RateLimit-* of the limit closest to running out.

A deployment whose policies cannot be compiled answers 503 for every request (fail
closed): a broken policy must never turn into an open door.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from sentinel import limits, problems
from sentinel.headers import PRINCIPAL
from sentinel.key_cache import KeyCache
from sentinel.policies.chain import PolicyChain, add_response_headers, add_send_filter, read_body
from sentinel.policies.jwt_rule import JwtRule
from sentinel.policies.keyauth import Keyauth, SpendCredits
from sentinel.policies.matching import Predicate, RequestView, compile_match
from sentinel.policies.openapi_rule import OpenapiDocuments, OpenapiRule
from sentinel.policies.request_log import MAX_CAPTURE, Capture, recorder, secrets_of
from sentinel.policies.rules import Exchange, Firewall, IpRules, Ratelimit, Rule
from sentinel.routing import Route

log = logging.getLogger(__name__)

# Who a keyauth or jwt policy verified, as principal JSON, in the request's scope: for the
# request log (sentinel.logged), on a rejected request too.
PRINCIPAL_SLOT = "dockyard.principal"
NOT_LOADED = "the gateway policies of deployment {deployment} are not loaded yet"
BROKEN = "the gateway policies of deployment {deployment} could not be loaded: {reason}"


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    match: Predicate | None
    rule: Rule


@dataclass(frozen=True, slots=True)
class Compiled:
    gates: tuple[Gate, ...] = ()
    logging: tuple[tuple[Predicate | None, dict[str, Any]], ...] = ()
    secrets: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    broken: str | None = None


class Gateway(PolicyChain):
    def __init__(
        self,
        *,
        environment_id: str,
        keys: KeyCache,
        limiter: limits.Limiter,
        spend_credits: SpendCredits,
    ) -> None:
        super().__init__()
        self.environment_id = environment_id
        self.keys = keys
        self.limiter = limiter
        self._spend = spend_credits
        self._documents = OpenapiDocuments()
        self._deployments: dict[str, Compiled] = {}

    def __bool__(self) -> bool:
        return True  # the principal header is stripped from every request

    def knows(self, deployment_id: str) -> bool:
        return deployment_id in self._deployments

    def install(
        self, deployment_id: str, policies: list[dict[str, Any]], spec_path: str | None
    ) -> None:
        """Compile a deployment's frozen policies (called from the loader's thread)."""
        try:
            compiled = self._compile(policies, spec_path)
        except Exception as error:
            log.exception("policies of deployment %s do not compile", deployment_id)
            compiled = Compiled(broken=str(error) or type(error).__name__)
        self._deployments = {**self._deployments, deployment_id: compiled}

    def keep_only(self, deployment_ids: set[str]) -> None:
        self._deployments = {d: c for d, c in self._deployments.items() if d in deployment_ids}

    def _compile(self, policies: list[dict[str, Any]], spec_path: str | None) -> Compiled:
        gates: list[Gate] = []
        logging_rules: list[tuple[Predicate | None, dict[str, Any]]] = []
        for policy in policies:
            if not policy.get("enabled", True):
                continue
            match = compile_match(policy.get("match"))
            if "logging" in policy:
                logging_rules.append((match, policy["logging"]))
                continue
            gates.append(Gate(str(policy["name"]), match, self._rule(policy, spec_path)))
        return Compiled(tuple(gates), tuple(logging_rules), secrets_of(policies))

    def _rule(self, policy: dict[str, Any], spec_path: str | None) -> Rule:
        name = str(policy["name"])
        if "keyauth" in policy:
            return Keyauth(
                policy["keyauth"], keys=self.keys, limiter=self.limiter, spend_credits=self._spend
            )
        if "ratelimit" in policy:
            policy_id = str(policy.get("id", name))
            scope = self.environment_id
            return Ratelimit(policy_id, name, policy["ratelimit"], self.limiter, scope)
        if "firewall" in policy:
            return Firewall(name)
        if "ipRules" in policy:
            return IpRules(name, policy["ipRules"])
        if "jwt" in policy:
            return JwtRule(policy["jwt"])
        if "openapi" in policy:
            return OpenapiRule(self._documents, spec_path)
        raise ValueError(f"policy {name!r} has no rule this gateway knows")

    async def evaluate(self, connection: HTTPConnection, route: Route) -> Response | None:
        scope = connection.scope
        if PRINCIPAL in map(itemgetter(0), scope["headers"]):
            scope["headers"] = [h for h in scope["headers"] if h[0] != PRINCIPAL]
        compiled = self._deployments.get(route.deployment_id)
        if compiled is None:
            detail = NOT_LOADED.format(deployment=route.deployment_id)
            return problems.Problem(503, "policies_not_loaded", detail)
        if compiled.broken is not None:
            detail = BROKEN.format(deployment=route.deployment_id, reason=compiled.broken)
            return problems.Problem(503, "policies_broken", detail)
        if not compiled.gates and not compiled.logging:
            return None
        view = RequestView(scope)
        if compiled.logging:
            await self._log(connection, view, compiled)
        exchange = Exchange(connection, view, route)
        for gate in compiled.gates:
            if gate.match is not None and not gate.match(view):
                continue
            rejection = await gate.rule.check(exchange)
            if rejection is not None:
                if exchange.identified:
                    scope[PRINCIPAL_SLOT] = exchange.principal_json or _encode(
                        exchange.principal or {}
                    )
                return rejection
        if exchange.identified:
            value = exchange.principal_json or _encode(exchange.principal or {})
            scope["headers"] = [*scope["headers"], (PRINCIPAL, value)]
            scope[PRINCIPAL_SLOT] = value
        tightest = exchange.tightest()
        if tightest is not None:
            add_response_headers(connection, limits.headers(tightest))
        return None

    async def _log(self, connection: HTTPConnection, view: RequestView, compiled: Compiled) -> None:
        capture = Capture(secret_headers=compiled.secrets[0], secret_params=compiled.secrets[1])
        matched = False
        for match, spec in compiled.logging:
            if match is None or match(view):
                capture.add(spec)
                matched = True
        if not matched:
            return
        body = None
        if capture.request_body and isinstance(connection, Request):
            body = await read_body(connection, MAX_CAPTURE * 128)
        add_send_filter(connection, recorder(capture, view, body))


SpendFunction = Callable[[str, int], tuple[bool, int | None]]


def _encode(principal: dict[str, Any]) -> bytes:
    return json.dumps(principal, separators=(",", ":"), default=str).encode()
