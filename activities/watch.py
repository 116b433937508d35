"""Keeping a region's instances alive: a dead container is ejected, then replaced.

One long-running activity per region, on that region's task queue, checks every running
deployment's containers each second. Ejecting comes first (the edge stops sending traffic
within one route reload); the replacement takes traffic only once it answers its check.
It also removes orphans: containers of deployments that ended (failed, say) while the
region's host was unreachable, so that nothing the database no longer wants keeps running.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select, update
from temporalio import activity

from activities.health import probe
from activities.instances import InstanceActivities, container_spec, instance_variables
from dockyard.models import Deployment, Instance
from dockyard.payloads import WatchRegionInput
from dockyard.runtime import RuntimeFailure
from dockyard.specs import RuntimeSpec

log = logging.getLogger(__name__)

REPLACING = "replacing"
REPLACEMENT_DEADLINE_SECONDS = 60.0
# Deployments whose instances must not run: they ended before serving traffic.
ENDED = ("failed", "cancelled", "superseded")
# Instance statuses that claim a container: an orphan's are recorded as its deployment's.
CLAIMING = ("starting", "healthy", REPLACING, "draining")


class RegionWatch(InstanceActivities):
    """The region's instance work that never ends: same dependencies, one more duty."""

    @activity.defn(name="watch instances")
    def watch_region(self, request: WatchRegionInput) -> None:
        """Runs until cancelled; a worker that dies hands it to another through heartbeats."""
        while True:
            activity.heartbeat()
            if activity.is_cancelled():
                return
            for instance_id in self._dead_instances(request.region):
                self._replace(instance_id)
            self._remove_orphans(request.region)
            time.sleep(request.interval_seconds)

    def _remove_orphans(self, region: str) -> None:
        containers = self._runtime.region_containers(region)
        with self._sessions() as session:
            statuses = {
                row.id: row.status
                for row in session.execute(
                    select(Deployment.id, Deployment.status).where(
                        Deployment.id.in_(set(containers.values()))
                    )
                )
            }
            leftovers = session.execute(
                select(Instance.id, Deployment.status)
                .join(Deployment, Deployment.id == Instance.deployment_id)
                .where(
                    Instance.region == region,
                    Instance.status.in_(CLAIMING),
                    Deployment.status.in_(ENDED),
                )
            ).all()
        for name, deployment_id in containers.items():
            # A container whose deployment has no row here is left alone: another dockyard
            # on the same engine may have started it.
            if statuses.get(deployment_id) in ENDED:
                log.warning("removing %s: its deployment %s ended", name, deployment_id)
                self._runtime.remove(name, grace_seconds=0)
        if leftovers:
            with self._sessions.begin() as session:
                for instance_id, status in leftovers:
                    session.execute(
                        update(Instance)
                        .where(Instance.id == instance_id, Instance.status.in_(CLAIMING))
                        .values(status=status)
                    )

    def _dead_instances(self, region: str) -> list[str]:
        with self._sessions() as session:
            rows = session.execute(
                select(Instance.id, Instance.container_name)
                .join(Deployment, Deployment.id == Instance.deployment_id)
                .where(
                    Instance.region == region,
                    Instance.status == "healthy",
                    Deployment.status == "ready",
                )
            ).all()
        return [row.id for row in rows if not self._runtime.state(row.container_name).running]

    def _replace(self, instance_id: str) -> None:
        # Claim it first: a stop that marks it draining meanwhile must win over the watch.
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(Instance)
                .where(Instance.id == instance_id, Instance.status == "healthy")
                .values(status=REPLACING)
                .returning(Instance.id)
            ).first()
        if not claimed:
            return
        self._events.routes_changed(instance_id)
        with self._sessions() as session:
            instance = session.get_one(Instance, instance_id)
            deployment = session.get_one(Deployment, instance.deployment_id)
            runtime = RuntimeSpec.model_validate(deployment.runtime)
            spec = container_spec(
                deployment_id=deployment.id,
                environment_id=deployment.environment_id,
                region=instance.region,
                replica=int(instance.container_name.rsplit("-", 1)[1]),
                image=deployment.image_digest or deployment.image or "",
                runtime=runtime,
                variables=instance_variables(self._box, deployment, instance.region),
            )
        log.warning("instance %s died; replacing it", spec.name)
        try:
            started = self._runtime.start(spec)
        except RuntimeFailure as error:
            log.warning("replacement of %s failed: %s", spec.name, error.message)
            self._set_status(instance_id, "healthy")  # looked at again next round
            return
        address = f"{self._instance_host}:{started.host_port}"
        deadline = time.monotonic() + REPLACEMENT_DEADLINE_SECONDS
        while probe(address, runtime.healthcheck) is not None:
            activity.heartbeat()
            if time.monotonic() > deadline:
                self._set_status(instance_id, "healthy")
                return
            time.sleep(0.1)
        with self._sessions.begin() as session:
            replaced = session.execute(
                update(Instance)
                .where(Instance.id == instance_id, Instance.status == REPLACING)
                .values(status="healthy", address=address, container_id=started.container_id)
                .returning(Instance.id)
            ).first()
        if not replaced:  # stopped while we replaced it: do not leave it running
            self._runtime.remove(spec.name, grace_seconds=0)
        self._events.routes_changed(instance_id)

    def _set_status(self, instance_id: str, status: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Instance)
                .where(Instance.id == instance_id, Instance.status == REPLACING)
                .values(status=status)
            )
