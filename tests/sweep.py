"""Does Docker hold exactly what the database says should run? (No orphans, no gaps.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.models import Instance
from dockyard.runtime import LABEL_ENVIRONMENT, DockerRuntime

EXPECTED_RUNNING = ("healthy", "starting", "replacing")


@dataclass(frozen=True)
class Sweep:
    orphans: list[str]  # containers running with no instance that should run
    missing: list[str]  # instances that should run, with no running container
    # environment networks whose environment has no instance that should run
    orphan_networks: list[str]

    @property
    def clean(self) -> bool:
        return not self.orphans and not self.missing and not self.orphan_networks


def sweep(sessions: sessionmaker[Session], runtime: DockerRuntime) -> Sweep:
    with sessions() as session:
        expected = session.execute(
            select(Instance.container_name, Instance.environment_id).where(
                Instance.status.in_(EXPECTED_RUNNING)
            )
        ).all()
    expected_names = {row.container_name for row in expected}
    serving_environments = {row.environment_id for row in expected}
    running = {
        container.name or ""
        for container in runtime.managed_containers()
        if container.status == "running"
    }
    networks = {
        network.name or ""
        for network in runtime.managed_networks()
        if (network.attrs.get("Labels") or {}).get(LABEL_ENVIRONMENT) not in serving_environments
    }
    return Sweep(
        orphans=sorted(running - expected_names),
        missing=sorted(expected_names - running),
        orphan_networks=sorted(networks),
    )
