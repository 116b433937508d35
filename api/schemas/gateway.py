"""gateway.*: an environment's ordered policies, validated the way the gateway reads them.

Unkey's rule types (keyauth, ratelimit, firewall, openapi, logging) and match expressions
(path, method, header, queryParam, remoteIp), plus two dockyard extensions Unkey lacks:
`ipRules` (allow/deny by CIDR) and `jwt` (verify a bearer JWT). What is stored is exactly
what listPolicies answers, so the Sentinel (sentinel.policy_config) reads the same JSON.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from api.schemas.base import Input, ResourceIdentifier
from dockyard.permission_query import QueryError, parse

Text = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
RULES = ("keyauth", "ratelimit", "firewall", "openapi", "logging", "ip_rules", "jwt")
RULE_NAMES = "keyauth, ratelimit, firewall, openapi, logging, ipRules or jwt"


def _exactly_one(model: Input, names: tuple[str, ...], what: str) -> None:
    set_ = [name for name in names if getattr(model, name) is not None]
    if len(set_) != 1:
        raise ValueError(f"exactly one of {what} must be set")


class Nothing(Input):
    """An option with no settings of its own, sent as `{}`."""


class StringMatch(Input):
    exact: Text | None = None
    prefix: Text | None = None
    regex: Text | None = None
    ignore_case: bool | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> StringMatch:
        _exactly_one(self, ("exact", "prefix", "regex"), "exact, prefix or regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise ValueError(f"regex {self.regex!r} is not valid: {error}") from error
        return self


class PathMatch(Input):
    path: StringMatch


class MethodMatch(Input):
    methods: Annotated[
        list[Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]],
        Field(min_length=1),
    ]


class FieldMatch(Input):
    name: FieldName
    present: Literal[True] | None = None
    value: StringMatch | None = None

    @model_validator(mode="after")
    def _one(self) -> FieldMatch:
        _exactly_one(self, ("present", "value"), "present or value")
        return self


def _cidr(value: str) -> str:
    if "%" in value:
        raise ValueError(f"{value!r}: addresses with a zone are not accepted")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 CIDR without host bits") from error
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        raise ValueError(f"{value!r}: IPv4-mapped IPv6 addresses are not accepted")
    return str(network)  # single addresses come back as /32 or /128


Cidrs = Annotated[list[str], Field(min_length=1, max_length=1000)]


class RemoteIpMatch(Input):
    in_: Annotated[Cidrs | None, Field(alias="in")] = None
    not_in: Cidrs | None = None

    @field_validator("in_", "not_in")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_cidr(item) for item in value]

    @model_validator(mode="after")
    def _one(self) -> RemoteIpMatch:
        _exactly_one(self, ("in_", "not_in"), "in or notIn")
        return self


class MatchExpr(Input):
    path: PathMatch | None = None
    method: MethodMatch | None = None
    header: FieldMatch | None = None
    query_param: FieldMatch | None = None
    remote_ip: RemoteIpMatch | None = None

    @model_validator(mode="after")
    def _one(self) -> MatchExpr:
        names = ("path", "method", "header", "query_param", "remote_ip")
        _exactly_one(self, names, "path, method, header, queryParam or remoteIp")
        return self


class HeaderLocation(Input):
    name: FieldName
    strip_prefix: Annotated[str, StringConstraints(max_length=256)] | None = None


class QueryLocation(Input):
    name: FieldName


class KeyLocation(Input):
    bearer: Nothing | None = None
    header: HeaderLocation | None = None
    query_param: QueryLocation | None = None

    @model_validator(mode="after")
    def _one(self) -> KeyLocation:
        _exactly_one(self, ("bearer", "header", "query_param"), "bearer, header or queryParam")
        return self


class KeyRatelimit(Input):
    name: FieldName
    limit: Annotated[int, Field(ge=1)] | None = None
    duration: Annotated[int, Field(ge=1)] | None = None
    cost: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _pair(self) -> KeyRatelimit:
        if (self.limit is None) != (self.duration is None):
            raise ValueError("limit and duration must be set together, or both omitted")
        return self


class Keyauth(Input):
    keyspaces: Annotated[list[FieldName], Field(min_length=1, max_length=5)]
    locations: list[KeyLocation] | None = None
    permission_query: Annotated[str, StringConstraints(max_length=1000)] | None = None
    ratelimits: Annotated[list[KeyRatelimit], Field(max_length=10)] | None = None
    credits: Annotated[int, Field(ge=0)] | None = None

    @field_validator("permission_query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value:
            try:
                parse(value)
            except QueryError as error:
                raise ValueError(str(error)) from error
        return value or None


class PrincipalField(Input):
    path: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class RatelimitIdentifier(Input):
    remote_ip: Nothing | None = None
    header: QueryLocation | None = None
    authenticated_subject: Nothing | None = None
    path: Nothing | None = None
    principal_field: PrincipalField | None = None

    @model_validator(mode="after")
    def _one(self) -> RatelimitIdentifier:
        names = ("remote_ip", "header", "authenticated_subject", "path", "principal_field")
        _exactly_one(self, names, "remoteIp, header, authenticatedSubject, path or principalField")
        return self


class RatelimitRule(Input):
    limit: Annotated[int, Field(ge=1)]
    window_ms: Annotated[int, Field(ge=1)]
    identifier: RatelimitIdentifier | None = None  # deprecated: one-entry `identifiers`
    identifiers: Annotated[list[RatelimitIdentifier], Field(min_length=1, max_length=5)] | None = (
        None
    )

    @model_validator(mode="after")
    def _normalize(self) -> RatelimitRule:
        _exactly_one(self, ("identifier", "identifiers"), "identifier or identifiers")
        if self.identifier is not None:
            # Responses always carry `identifiers`, as Unkey's do.
            return self.model_copy(update={"identifiers": [self.identifier], "identifier": None})
        return self


class Firewall(Input):
    action: Literal["ACTION_DENY"]


class LoggingRule(Input):
    request_headers: bool = False
    response_headers: bool = False
    request_body: bool = False
    response_body: bool = False
    query: bool = False


class IpRules(Input):
    """dockyard extension: deny wins; a non-empty allow list admits only its ranges."""

    allow: Annotated[list[str], Field(max_length=1000)] | None = None
    deny: Annotated[list[str], Field(max_length=1000)] | None = None

    @field_validator("allow", "deny")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_cidr(item) for item in value]

    @model_validator(mode="after")
    def _some(self) -> IpRules:
        if not self.allow and not self.deny:
            raise ValueError("ipRules needs an allow or a deny list")
        return self


Algorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]


class Jwt(Input):
    """dockyard extension: a bearer JWT verified against a JWKS URL or a PEM public key."""

    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2048)] | None = (
        None
    )
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=16384)] | None = None
    issuer: Text | None = None
    audiences: Annotated[list[Text], Field(max_length=20)] | None = None
    algorithms: Annotated[list[Algorithm], Field(min_length=1)] = Field(
        default_factory=lambda: list[Algorithm](["RS256"])
    )
    clock_skew_seconds: Annotated[int, Field(ge=0, le=600)] = 30

    @model_validator(mode="after")
    def _one_key_source(self) -> Jwt:
        _exactly_one(self, ("jwks_url", "public_key"), "jwksUrl or publicKey")
        return self


class PolicyRule(Input):
    keyauth: Keyauth | None = None
    ratelimit: RatelimitRule | None = None
    firewall: Firewall | None = None
    openapi: Nothing | None = None
    logging: LoggingRule | None = None
    ip_rules: IpRules | None = None
    jwt: Jwt | None = None

    def rule_count(self) -> int:
        return sum(getattr(self, name) is not None for name in RULES)


class PolicyIn(PolicyRule):
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    enabled: bool
    match: Annotated[list[MatchExpr], Field(max_length=10)] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> PolicyIn:
        if self.rule_count() != 1:
            raise ValueError(f"exactly one of {RULE_NAMES} must be set")
        return self


class StoredPolicy(PolicyIn):
    """A policy as stored and listed: with its server-made id."""

    id: str


class EnvironmentTarget(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier


class SetPolicies(EnvironmentTarget):
    policies: Annotated[list[PolicyIn], Field(max_length=50)]


class UpdatePolicy(EnvironmentTarget, PolicyRule):
    policy_id: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    enabled: bool | None = None
    match: Annotated[list[MatchExpr], Field(max_length=10)] | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdatePolicy:
        if self.rule_count() > 1:
            raise ValueError(f"at most one of {RULE_NAMES} may be set")
        updatable = {"name", "enabled", "match", *RULES}
        if not updatable & self.model_fields_set:
            raise ValueError("at least one of name, enabled, match or a rule must be given")
        return self


class UpdateGateway(EnvironmentTarget):
    """dockyard extension: Sentinel replicas per region, above the kind's default."""

    sentinel_replicas: Annotated[int, Field(ge=1, le=16)] | None
