"""Starting, health-checking and removing a deployment's instances in one region.

These run on the region's task queue, on a worker beside that region's Docker host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Pending
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.health import probe, startup_deadline_seconds
from dockyard.crypto import SecretBox
from dockyard.events import Events
from dockyard.ids import new_id
from dockyard.models import Deployment, Instance
from dockyard.payloads import (
    InstanceRef,
    RemoveInstancesInput,
    StartInstancesInput,
    WaitHealthyInput,
)
from dockyard.runtime import (
    LABEL_DEPLOYMENT,
    LABEL_ENVIRONMENT,
    LABEL_REGION,
    ContainerSpec,
    DockerRuntime,
    RuntimeFailure,
    container_name,
)
from dockyard.specs import RuntimeSpec

PROBE_PAUSE_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
T = TypeVar("T")


def failure(code: str, message: str) -> ApplicationError:
    """A failure the user must fix: retrying the activity would fail the same way."""
    return ApplicationError(message, code, type=code, non_retryable=True)


def heartbeating(work: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run blocking work while heartbeating, so a dead worker is noticed in seconds."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(work, *args, **kwargs)
        while True:
            try:
                return future.result(timeout=HEARTBEAT_SECONDS)
            except Pending:
                activity.heartbeat()


def instance_variables(box: SecretBox, deployment: Deployment, region: str) -> dict[str, str]:
    """The deployment's frozen variables, plus what every instance is told about itself."""
    runtime = RuntimeSpec.model_validate(deployment.runtime)
    return {
        **box.open_mapping(deployment.variables_encrypted),
        "PORT": str(runtime.port),
        "DOCKYARD_DEPLOYMENT_ID": deployment.id,
        "DOCKYARD_REGION": region,
    }


def container_spec(
    *,
    deployment_id: str,
    environment_id: str,
    region: str,
    replica: int,
    image: str,
    runtime: RuntimeSpec,
    variables: dict[str, str],
) -> ContainerSpec:
    return ContainerSpec(
        name=container_name(deployment_id, region, replica),
        environment_id=environment_id,
        image=image,
        port=runtime.port,
        command=runtime.command,
        environment=variables,
        labels={
            LABEL_DEPLOYMENT: deployment_id,
            LABEL_ENVIRONMENT: environment_id,
            LABEL_REGION: region,
        },
        nano_cpus=int(runtime.vcpus * 1e9),
        memory_bytes=runtime.memory_mib * 1024 * 1024,
        stop_signal=runtime.shutdown_signal,
    )


class InstanceActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        runtime: DockerRuntime,
        box: SecretBox,
        events: Events,
        instance_host: str,
    ) -> None:
        self._sessions = sessions
        self._runtime = runtime
        self._box = box
        self._events = events
        self._instance_host = instance_host

    @activity.defn(name="schedule instances")
    def start_instances(self, request: StartInstancesInput) -> list[InstanceRef]:
        try:
            return self._start_instances(request)
        except RuntimeFailure as error:
            raise failure(error.code, error.message) from error

    def _start_instances(self, request: StartInstancesInput) -> list[InstanceRef]:
        # A pull can take minutes; heartbeats tell Temporal the worker is still alive.
        digest = heartbeating(self._runtime.resolve_image, request.image)
        variables = self._variables(request)
        refs = []
        for replica in range(request.replicas):
            spec = container_spec(
                deployment_id=request.deployment_id,
                environment_id=request.environment_id,
                region=request.region,
                replica=replica,
                image=digest,
                runtime=request.runtime,
                variables=variables,
            )
            started = self._runtime.start(spec)
            address = f"{self._instance_host}:{started.host_port}"
            refs.append(self._record(request, spec.name, started.container_id, address))
            activity.heartbeat(spec.name)
        self._record_digest(request.deployment_id, digest)
        return refs

    @activity.defn(name="wait for health")
    def wait_healthy(self, request: WaitHealthyInput) -> None:
        check = request.healthcheck
        if check is not None and check.initial_delay_seconds:
            heartbeating(time.sleep, check.initial_delay_seconds)
        budget = startup_deadline_seconds(check)
        deadline = time.monotonic() + budget
        waiting = {ref.container_name: ref for ref in request.instances}
        last_problem = ""
        while waiting:
            for name, ref in list(waiting.items()):
                state = self._runtime.state(name)
                if not state.running:
                    raise failure(
                        "container_exited",
                        f"instance {name} exited with code {state.exit_code} before it was "
                        f"healthy. Its last output:\n{state.logs}",
                    )
                problem = probe(ref.address, check)
                if problem is None:
                    self._mark_healthy(ref.instance_id)
                    del waiting[name]
                else:
                    last_problem = problem
            activity.heartbeat(len(waiting))
            if waiting and time.monotonic() > deadline:
                raise failure(
                    "health_check_failed",
                    f"{len(waiting)} instance(s) in {request.region} were not healthy within "
                    f"{budget:.0f}s: {last_problem}",
                )
            if waiting:
                time.sleep(PROBE_PAUSE_SECONDS)
        self._events.routes_changed(request.deployment_id)

    @activity.defn(name="remove instances")
    def remove_instances(self, request: RemoveInstancesInput) -> None:
        with self._sessions.begin() as session:
            deployment = session.get(Deployment, request.deployment_id)
            environment_id = deployment.environment_id if deployment is not None else None
            instances = session.scalars(
                select(Instance).where(
                    Instance.deployment_id == request.deployment_id,
                    Instance.region == request.region,
                )
            ).all()
            # Out of routing first, so no request is sent to an instance being stopped.
            serving = any(instance.status == "healthy" for instance in instances)
            for instance in instances:
                instance.status = "draining"
        self._events.routes_changed(request.deployment_id)
        if serving and request.propagation_seconds:
            heartbeating(time.sleep, request.propagation_seconds)
        names = set(self._runtime.names_for_deployment(request.deployment_id, request.region))
        names.update(instance.container_name for instance in instances)
        for name in sorted(names):  # `docker stop` waits up to the grace period
            heartbeating(self._runtime.remove, name, grace_seconds=request.grace_seconds)
        # Also when no container was left to remove: a start that failed early (or a retry
        # of this activity) may have left the environment's network behind.
        if environment_id is not None:
            self._runtime.release_network(environment_id)
        with self._sessions.begin() as session:
            for instance in session.scalars(
                select(Instance).where(
                    Instance.deployment_id == request.deployment_id,
                    Instance.region == request.region,
                )
            ):
                instance.status = request.reason

    def _variables(self, request: StartInstancesInput) -> dict[str, str]:
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, request.deployment_id)
            return instance_variables(self._box, deployment, request.region)

    def _record(
        self, request: StartInstancesInput, name: str, container_id: str, address: str
    ) -> InstanceRef:
        with self._sessions.begin() as session:
            instance = session.scalar(select(Instance).where(Instance.container_name == name))
            if instance is None:
                instance = Instance(
                    id=new_id("instance"),
                    deployment_id=request.deployment_id,
                    environment_id=request.environment_id,
                    region=request.region,
                    container_name=name,
                )
                session.add(instance)
            instance.container_id = container_id
            instance.address = address
            instance.status = "starting"
            session.flush()
            return InstanceRef(instance_id=instance.id, container_name=name, address=address)

    def _mark_healthy(self, instance_id: str) -> None:
        with self._sessions.begin() as session:
            instance = session.get(Instance, instance_id)
            if instance is not None:
                instance.status = "healthy"

    def _record_digest(self, deployment_id: str, digest: str) -> None:
        with self._sessions.begin() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is not None and not deployment.image_digest:
                deployment.image_digest = digest
