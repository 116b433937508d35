"""Read the route table from the database. Synchronous: the edge calls it in a thread."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.models import Domain, Instance
from sentinel.routing import RouteTable

HEALTHY = "healthy"


def load_route_table(
    sessions: sessionmaker[Session], *, region: str, environment_id: str | None = None
) -> RouteTable:
    """Every routable hostname with the healthy instances of the deployment it points at;
    only one environment's hostnames when `environment_id` is given (a Sentinel replica).

    Domains whose deployment_id is still NULL are not routable yet and are left out, so
    they answer like an unknown host.
    """
    read_at = time.time()  # before the read: the table holds every change committed earlier
    with sessions() as session:
        domains = routable_domains(session, environment_id)
        query = select(Instance.deployment_id, Instance.region, Instance.address).where(
            Instance.status == HEALTHY, Instance.address.is_not(None)
        )
        if environment_id is not None:
            wanted = {deployment_id for deployment_id, _ in domains.values()}
            query = query.where(Instance.deployment_id.in_(wanted))
        instances: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        for deployment_id, instance_region, address in session.execute(query):
            if address:
                instances[deployment_id].append((instance_region, address))
    return RouteTable.build(region=region, domains=domains, instances=instances, loaded_at=read_at)


def routable_domains(
    session: Session, environment_id: str | None = None
) -> dict[str, tuple[str, str]]:
    """hostname -> (deployment id, environment id) of every domain that points somewhere."""
    query = select(Domain.hostname, Domain.deployment_id, Domain.environment_id).where(
        Domain.deployment_id.is_not(None)
    )
    if environment_id is not None:
        query = query.where(Domain.environment_id == environment_id)
    return {
        hostname.lower(): (deployment_id, env_id)
        for hostname, deployment_id, env_id in session.execute(query)
        if deployment_id is not None
    }
