"""The Docker runtime driver: the only place that starts and stops app containers.

Every operation is idempotent: a container's name is derived from its deployment, region
and replica, so a retried activity finds the container it started before instead of
starting a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

log = logging.getLogger(__name__)

LABEL_MANAGED = "dockyard.managed"
# Which dockyard started a container (its task queue prefix): several can share a host.
LABEL_OWNER = "dockyard.owner"
LABEL_DEPLOYMENT = "dockyard.deployment"
LABEL_ENVIRONMENT = "dockyard.environment"
LABEL_REGION = "dockyard.region"
LOG_TAIL_LINES = 20


class RuntimeFailure(Exception):
    """A failure the user must fix (bad image, crashing app); retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ContainerSpec:
    name: str
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


class DockerRuntime:
    def __init__(
        self, client: docker.DockerClient | None = None, *, owner: str = "dockyard"
    ) -> None:
        self._docker = client or docker.from_env()
        self._owner = owner

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
            return RunningContainer(existing.id or "", _host_port(existing, spec.port))
        if existing is not None:
            existing.remove(force=True)
        container = self._docker.containers.run(
            spec.image,
            command=spec.command or None,
            name=spec.name,
            detach=True,
            environment=spec.environment,
            labels={LABEL_MANAGED: "true", LABEL_OWNER: self._owner, **spec.labels},
            ports={f"{spec.port}/tcp": ("127.0.0.1", None)},
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.memory_bytes,
            stop_signal=spec.stop_signal,
            restart_policy={"Name": "no"},
            # An init process forwards the stop signal: an app running as PID 1 would
            # otherwise ignore SIGTERM and every stop would wait for the kill timeout.
            init=True,
        )
        container.reload()
        if container.status != "running":
            code = container.attrs["State"].get("ExitCode")
            raise RuntimeFailure(
                "container_exited",
                f"instance {spec.name} exited with code {code} as it started. "
                f"Its last output:\n{self.tail_logs(container)}",
            )
        return RunningContainer(container.id or "", _host_port(container, spec.port))

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
            container.remove(force=True)
        except NotFound:
            pass

    def names_for_deployment(self, deployment_id: str, region: str | None = None) -> list[str]:
        labels = [f"{LABEL_DEPLOYMENT}={deployment_id}"]
        if region is not None:
            labels.append(f"{LABEL_REGION}={region}")
        containers = self._docker.containers.list(all=True, filters={"label": labels})
        return sorted(container.name or "" for container in containers)

    def managed_containers(self) -> list[Container]:
        return list(
            self._docker.containers.list(
                all=True, filters={"label": f"{LABEL_OWNER}={self._owner}"}
            )
        )

    def remove_owned(self) -> int:
        """Remove every container this dockyard started (benchmarks clean up with it)."""
        containers = self.managed_containers()
        for container in containers:
            container.remove(force=True)
        return len(containers)

    @staticmethod
    def tail_logs(container: Container) -> str:
        raw = container.logs(tail=LOG_TAIL_LINES)
        return raw.decode(errors="replace").strip() if isinstance(raw, bytes) else str(raw)

    def _find(self, name: str) -> Container | None:
        try:
            return self._docker.containers.get(name)
        except NotFound:
            return None


def _host_port(container: Container, port: int) -> int:
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", ""):
            return int(binding["HostPort"])
    raise RuntimeFailure(
        "unknown", f"container {container.name} did not publish port {port}; is it running?"
    )


def _explain(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
