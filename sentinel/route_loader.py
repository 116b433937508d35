"""Read the route table from the database. Synchronous: the edge calls it in a thread."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.models import Domain, Instance
from sentinel.routing import RouteTable

HEALTHY = "healthy"


def load_route_table(sessions: sessionmaker[Session], *, region: str) -> RouteTable:
    """Every routable hostname with the healthy instances of the deployment it points at.

    Domains whose deployment_id is still NULL are not routable yet and are left out, so
    they answer like an unknown host.
    """
    with sessions() as session:
        domains = {
            hostname.lower(): (deployment_id, environment_id)
            for hostname, deployment_id, environment_id in session.execute(
                select(Domain.hostname, Domain.deployment_id, Domain.environment_id).where(
                    Domain.deployment_id.is_not(None)
                )
            )
            if deployment_id is not None
        }
        instances: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        for deployment_id, instance_region, address in session.execute(
            select(Instance.deployment_id, Instance.region, Instance.address).where(
                Instance.status == HEALTHY, Instance.address.is_not(None)
            )
        ):
            if address:
                instances[deployment_id].append((instance_region, address))
    return RouteTable.build(region=region, domains=domains, instances=instances)
