"""Does Docker hold exactly what the database says should run? (No orphans, no gaps.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.models import Instance
from dockyard.runtime import DockerRuntime

EXPECTED_RUNNING = ("healthy", "starting", "replacing")


@dataclass(frozen=True)
class Sweep:
    orphans: list[str]  # containers running with no instance that should run
    missing: list[str]  # instances that should run, with no running container

    @property
    def clean(self) -> bool:
        return not self.orphans and not self.missing


def sweep(sessions: sessionmaker[Session], runtime: DockerRuntime) -> Sweep:
    with sessions() as session:
        expected = set(
            session.scalars(
                select(Instance.container_name).where(Instance.status.in_(EXPECTED_RUNNING))
            )
        )
    running = {
        container.name or ""
        for container in runtime.managed_containers()
        if container.status == "running"
    }
    return Sweep(orphans=sorted(running - expected), missing=sorted(expected - running))
