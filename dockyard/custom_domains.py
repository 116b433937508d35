"""Custom domains follow their environment's live deployment.

The edge routes a hostname to the deployment its `domains` row points at (deployment_id;
NULL is not routable). A custom domain is attached to an environment, not to a deployment,
so the rule is:

    pending, verifying or failed  ->  deployment_id NULL (it serves nothing)
    verified                      ->  deployment_id = the environment's current deployment

Whatever changes an environment's current deployment (deploy finalization, rollback,
promote) calls `follow_live` in the same transaction, so custom domains move together with
the environment's generated domains and never point at a deployment that left.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from dockyard.domains import DomainKind
from dockyard.models import Domain, Environment

VERIFIED = "verified"


def follow_live(session: Session, *, environment_id: str, deployment_id: str | None) -> None:
    """Point every verified custom domain of the environment at `deployment_id`, the
    environment's new current deployment. Call it where `Environment.current_deployment_id`
    is set, inside the same transaction; then publish the route change as usual."""
    session.execute(
        update(Domain)
        .where(
            Domain.environment_id == environment_id,
            Domain.kind == DomainKind.CUSTOM.value,
            Domain.status == VERIFIED,
        )
        .values(deployment_id=deployment_id)
        .execution_options(synchronize_session="fetch")
    )


def routed_deployment(domain: Domain, environment: Environment) -> str | None:
    """Where a custom domain should point now, by the rule above."""
    if domain.status != VERIFIED:
        return None
    return environment.current_deployment_id
