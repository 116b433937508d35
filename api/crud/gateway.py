"""An environment's gateway: its policy list (what its next deployments get) and its
Sentinel replica count. Policy ids are made anew by every setPolicies, as in Unkey."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.crud.keyspaces import find_keyspace
from api.errors import BadRequest, NotFound
from api.schemas.gateway import RULES, PolicyIn, PolicyRule, StoredPolicy, UpdatePolicy
from dockyard.ids import new_id
from dockyard.keyspaces import DeploymentPolicies, EnvironmentGateway
from dockyard.models import Environment, now_ms

NO_POLICY = "Policy '{policy_id}' does not exist in environment '{environment}'."
RULE_FIELDS = ("keyauth", "ratelimit", "firewall", "openapi", "logging", "ipRules", "jwt")


def gateway_of(session: Session, environment: Environment) -> EnvironmentGateway:
    gateway = session.get(EnvironmentGateway, environment.id)
    if gateway is None:
        gateway = EnvironmentGateway(environment_id=environment.id, policies=[])
        session.add(gateway)
    return gateway


def stored(policy: PolicyIn, policy_id: str) -> dict[str, Any]:
    return {"id": policy_id, **policy.model_dump(by_alias=True, exclude_none=True, mode="json")}


def check_keyspaces(session: Session, workspace_id: str, rule: PolicyRule) -> None:
    """A keyauth rule may name only keyspaces of the caller's workspace (404 otherwise)."""
    if rule.keyauth is not None:
        for keyspace in rule.keyauth.keyspaces:
            find_keyspace(session, workspace_id=workspace_id, api_id=keyspace)


def set_policies(
    session: Session, *, workspace_id: str, environment: Environment, policies: list[PolicyIn]
) -> list[dict[str, Any]]:
    for policy in policies:
        check_keyspaces(session, workspace_id, policy)
    gateway = gateway_of(session, environment)
    gateway.policies = [stored(policy, new_id("policy")) for policy in policies]
    gateway.updated_at = now_ms()
    return list(gateway.policies)


def list_policies(session: Session, environment: Environment) -> list[StoredPolicy]:
    gateway = session.get(EnvironmentGateway, environment.id)
    return [StoredPolicy.model_validate(policy) for policy in (gateway.policies if gateway else [])]


def frozen_policies(session: Session, *, deployment_id: str) -> list[StoredPolicy]:
    """The policies a deployment was created with, in order: what its replicas enforce."""
    frozen = session.get(DeploymentPolicies, deployment_id)
    return [StoredPolicy.model_validate(policy) for policy in (frozen.policies if frozen else [])]


def update_policy(
    session: Session, *, workspace_id: str, environment: Environment, body: UpdatePolicy
) -> dict[str, Any]:
    gateway = session.get(EnvironmentGateway, environment.id)
    policies = list(gateway.policies) if gateway else []
    index = next((i for i, p in enumerate(policies) if p.get("id") == body.policy_id), None)
    if gateway is None or index is None:
        raise NotFound(NO_POLICY.format(policy_id=body.policy_id, environment=environment.slug))
    check_keyspaces(session, workspace_id, body)
    given = body.model_fields_set
    updated = dict(policies[index])
    if "name" in given and body.name is not None:
        updated["name"] = body.name
    if "enabled" in given and body.enabled is not None:
        updated["enabled"] = body.enabled
    if "match" in given:
        updated.pop("match", None)
        if body.match:
            updated["match"] = [m.model_dump(by_alias=True, exclude_none=True) for m in body.match]
    if body.rule_count():
        for name in RULE_FIELDS:
            updated.pop(name, None)
        updated.update(body.model_dump(include=set(RULES), by_alias=True, exclude_none=True))
    # Validated as a whole, the way setPolicies validates each policy.
    try:
        StoredPolicy.model_validate(updated)
    except ValidationError as error:
        first = error.errors()[0]
        raise BadRequest.at(
            "body", str(first.get("msg", "the updated policy is not valid"))
        ) from error
    policies[index] = updated
    gateway.policies = policies
    gateway.updated_at = now_ms()
    return updated


def set_replicas(session: Session, environment: Environment, replicas: int | None) -> None:
    gateway = gateway_of(session, environment)
    gateway.sentinel_replicas = replicas
    gateway.updated_at = now_ms()
