"""The Docker runtime driver: the only place that starts and stops app containers.

Every operation is idempotent: a container's name is derived from its deployment, region
and replica, so a retried activity finds the container it started before instead of
starting a second one.

Each environment's containers share one bridge network of their own and no other, so
Docker's isolation between bridges keeps one environment's apps from reaching another's
by container address. Ports are still published on the host (127.0.0.1 unless told
otherwise) for the region's edge.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.models.networks import Network

log = logging.getLogger(__name__)

LABEL_MANAGED = "dockyard.managed"
# Which dockyard started a container (its task queue prefix): several can share a host.
LABEL_OWNER = "dockyard.owner"
LABEL_DEPLOYMENT = "dockyard.deployment"
LABEL_ENVIRONMENT = "dockyard.environment"
LABEL_REGION = "dockyard.region"
LOG_TAIL_LINES = 20
CONFLICT = 409
NOT_OURS = "Docker network {network} exists but another dockyard (or someone else) made it"
NO_ADDRESS_POOL = (
    "Docker has no free address range left for environment {environment}'s network "
    "({reason}). Every environment with running instances needs one bridge network; "
    "give the Docker daemon more (or smaller) ranges with `default-address-pools` in "
    "daemon.json, or stop environments that are no longer needed."
)


class RuntimeFailure(Exception):
    """A failure the user must fix (bad image, crashing app); retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    environment_id: str
    image: str
    port: int
    command: list[str]
    environment: dict[str, str]
    labels: dict[str, str]
    nano_cpus: int
    memory_bytes: int
    stop_signal: str


@dataclass(frozen=True)
class RunningContainer:
    container_id: str
    host_port: int


@dataclass(frozen=True)
class ContainerState:
    running: bool
    exit_code: int | None
    logs: str


def container_name(deployment_id: str, region: str, replica: int) -> str:
    return f"dy-{deployment_id}-{region}-{replica}"


def network_name(environment_id: str) -> str:
    return f"dy-{environment_id}"


class DockerRuntime:
    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        owner: str = "dockyard",
        before_remove: Callable[[Container], None] | None = None,
        publish_host: str = "127.0.0.1",
    ) -> None:
        self._docker = client or docker.from_env()
        self._owner = owner
        # The host address app ports are published on (Settings.instance_bind_host).
        self._publish_host = publish_host
        # Told of each app container about to be removed (the runtime log capture keeps
        # its last lines and exit code, which Docker forgets with the container).
        self._before_remove = before_remove
        # Docker lets two networks share a name when created at once: concurrent activities
        # of this worker take turns; other workers converge on the oldest (ensure_network).
        self._network_lock = threading.Lock()

    def resolve_image(self, image: str) -> str:
        """The image's content digest (its id), pulling it when it is not present locally."""
        try:
            return str(self._docker.images.get(image).id)
        except ImageNotFound:
            pass
        except APIError as error:
            raise RuntimeFailure(
                "invalid_image", f"{image!r} is not a valid image reference"
            ) from error
        try:
            return str(self._docker.images.pull(image).id)
        except (APIError, ImageNotFound) as error:
            raise RuntimeFailure(
                "image_not_found",
                f"image {image!r} was not found on the Docker host and could not be pulled: "
                f"{_explain(error)}",
            ) from error

    def start(self, spec: ContainerSpec) -> RunningContainer:
        existing = self._find(spec.name)
        if existing is not None and existing.status == "running":
            return RunningContainer(
                existing.id or "", _host_port(existing, spec.port, self._publish_host)
            )
        if existing is not None:
            self._forget(existing)
            existing.remove(force=True)
        container = self._run(spec)
        container.reload()
        if container.status != "running":
            code = container.attrs["State"].get("ExitCode")
            raise RuntimeFailure(
                "container_exited",
                f"instance {spec.name} exited with code {code} as it started. "
                f"Its last output:\n{self.tail_logs(container)}",
            )
        return RunningContainer(
            container.id or "", _host_port(container, spec.port, self._publish_host)
        )

    def state(self, name: str) -> ContainerState:
        container = self._find(name)
        if container is None:
            return ContainerState(running=False, exit_code=None, logs="container is gone")
        running = container.status in ("running", "created", "restarting")
        exit_code = None if running else int(container.attrs["State"].get("ExitCode", 0))
        logs = "" if running else self.tail_logs(container)
        return ContainerState(running=running, exit_code=exit_code, logs=logs)

    def remove(self, name: str, *, grace_seconds: int = 10) -> None:
        container = self._find(name)
        if container is None:
            return
        try:
            if container.status == "running":
                container.stop(timeout=grace_seconds)
            self._forget(container)
            container.remove(force=True)
        except NotFound:
            pass
        environment_id = (container.labels or {}).get(LABEL_ENVIRONMENT)
        if environment_id:
            self.release_network(environment_id)

    def ensure_network(self, environment_id: str) -> Network:
        """The environment's network, created when missing; safe to call concurrently."""
        with self._network_lock:
            return self._ensure_network(environment_id)

    def _ensure_network(self, environment_id: str) -> Network:
        name = network_name(environment_id)
        found = self._networks(name)
        labels = {
            LABEL_MANAGED: "true",
            LABEL_OWNER: self._owner,
            LABEL_ENVIRONMENT: environment_id,
        }
        for _ in range(3):  # it may be created, or removed, by someone else meanwhile
            if found:
                break
            try:
                self._docker.networks.create(
                    name, driver="bridge", check_duplicate=True, labels=labels
                )
            except APIError as error:
                if "address pool" in _explain(error):
                    reason = _explain(error)
                    raise RuntimeFailure(
                        "network_unavailable",
                        NO_ADDRESS_POOL.format(environment=environment_id, reason=reason),
                    ) from error
                if error.status_code != CONFLICT:  # a concurrent caller created it first
                    raise
            found = self._networks(name)
        if not found:
            raise RuntimeFailure("network_unavailable", NOT_OURS.format(network=name))
        # Docker's duplicate check is not atomic, so two callers racing may each create one:
        # every caller keeps the oldest, and the environment's containers all meet there.
        keep, *extra = sorted(found, key=_creation_order)
        for network in extra:
            with contextlib.suppress(APIError):
                network.remove()
        return keep

    def release_network(self, environment_id: str) -> None:
        """Remove the environment's network once no container of the environment is left."""
        label = f"{LABEL_ENVIRONMENT}={environment_id}"
        owned = f"{LABEL_OWNER}={self._owner}"
        if self._docker.containers.list(
            all=True, filters={"label": [owned, label]}, ignore_removed=True
        ):
            return
        for network in self._networks(network_name(environment_id)):
            try:
                network.remove()
            except NotFound:
                pass
            except APIError as error:  # an instance started meanwhile: the network stays
                log.info("network %s stays: %s", network.name, _explain(error))

    def names_for_deployment(self, deployment_id: str, region: str | None = None) -> list[str]:
        labels = [f"{LABEL_DEPLOYMENT}={deployment_id}"]
        if region is not None:
            labels.append(f"{LABEL_REGION}={region}")
        containers = self._docker.containers.list(
            all=True, filters={"label": labels}, ignore_removed=True
        )
        return sorted(container.name or "" for container in containers)

    def region_containers(self, region: str) -> dict[str, str]:
        """This dockyard's containers of one region, running or not: name -> deployment."""
        labels = [f"{LABEL_OWNER}={self._owner}", f"{LABEL_REGION}={region}"]
        containers = self._docker.containers.list(
            all=True, filters={"label": labels}, sparse=True, ignore_removed=True
        )
        return {
            (container.attrs.get("Names") or ["/"])[0].lstrip("/"): (
                container.attrs.get("Labels") or {}
            ).get(LABEL_DEPLOYMENT, "")
            for container in containers
        }

    def managed_containers(self) -> list[Container]:
        return list(
            self._docker.containers.list(
                all=True, filters={"label": f"{LABEL_OWNER}={self._owner}"}, ignore_removed=True
            )
        )

    def managed_networks(self) -> list[Network]:
        return list(self._docker.networks.list(filters={"label": f"{LABEL_OWNER}={self._owner}"}))

    def remove_owned(self) -> int:
        """Remove every container and network this dockyard created (benchmarks use it)."""
        containers = self.managed_containers()
        for container in containers:
            container.remove(force=True)
        for network in self.managed_networks():
            with contextlib.suppress(NotFound):
                network.remove()
        return len(containers)

    @staticmethod
    def tail_logs(container: Container) -> str:
        raw = container.logs(tail=LOG_TAIL_LINES)
        return raw.decode(errors="replace").strip() if isinstance(raw, bytes) else str(raw)

    def _run(self, spec: ContainerSpec) -> Container:
        # The environment's last instance being removed may take the network away between
        # finding it and starting the container; the second attempt creates it again.
        for attempt in range(2):
            network = self.ensure_network(spec.environment_id)
            try:
                return self._docker.containers.run(
                    spec.image,
                    command=spec.command or None,
                    name=spec.name,
                    detach=True,
                    environment=spec.environment,
                    labels={
                        LABEL_MANAGED: "true",
                        LABEL_OWNER: self._owner,
                        LABEL_ENVIRONMENT: spec.environment_id,
                        **spec.labels,
                    },
                    # Attached to its environment's network only, never the default bridge.
                    network=network.id,
                    ports={f"{spec.port}/tcp": (self._publish_host, None)},
                    nano_cpus=spec.nano_cpus,
                    mem_limit=spec.memory_bytes,
                    stop_signal=spec.stop_signal,
                    restart_policy={"Name": "no"},
                    # An init process forwards the stop signal: an app running as PID 1
                    # would otherwise ignore SIGTERM and every stop would wait for the kill
                    # timeout.
                    init=True,
                )
            except NotFound as error:
                if isinstance(error, ImageNotFound) or attempt:
                    raise
                log.info("network of %s went away as it started; again", spec.name)
                leftover = self._find(spec.name)  # created, then failed to start
                if leftover is not None:
                    leftover.remove(force=True)
        raise AssertionError("unreachable")

    def _forget(self, container: Container) -> None:
        if self._before_remove is not None:
            self._before_remove(container)

    def _networks(self, name: str) -> list[Network]:
        # Docker matches names by substring; only the exact name is the environment's.
        candidates = self._docker.networks.list(
            names=[name], filters={"label": f"{LABEL_OWNER}={self._owner}"}
        )
        return [network for network in candidates if network.name == name]

    def _find(self, name: str) -> Container | None:
        try:
            return self._docker.containers.get(name)
        except NotFound:
            return None


def _host_port(container: Container, port: int, publish_host: str) -> int:
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostIp") in (publish_host, "0.0.0.0", ""):
            return int(binding["HostPort"])
    raise RuntimeFailure(
        "unknown", f"container {container.name} did not publish port {port}; is it running?"
    )


def _creation_order(network: Network) -> tuple[datetime, str]:
    return (datetime.fromisoformat(network.attrs["Created"]), network.id or "")


def _explain(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
