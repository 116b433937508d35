"""environments.updateSettings: how later deployments of an environment build and run.

Every field is optional: an omitted field is left as it is, and `null` clears the nullable
ones (`dockerfile`, `buildCommand`, `healthcheck`, `openapiSpecPath`). Settings are frozen
into each deployment when it is created, so a change applies to the next deployment.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from api.schemas.base import Input
from api.schemas.environment_variables import EnvironmentScoped
from dockyard.specs import HEALTH_PATH_PATTERN

MAX_REPLICAS = 32
WATCH_PATH_RULE = (
    "must be a glob relative to the root directory, such as `src/**` or `**/*.go`, "
    "not starting with `/` or `./`"
)
DUPLICATE_REGION = "region {name!r} appears more than once"
REPLICA_BOUNDS = "replicas.min must not be greater than replicas.max"
CANNOT_BE_NULL = "{field} cannot be null; leave it out to keep the current value"
# Only dockerfile, buildCommand, healthcheck and openapiSpecPath may be sent as null.
NOT_NULLABLE = (
    "root_directory",
    "watch_paths",
    "auto_deploy",
    "port",
    "v_cpus",
    "memory_mib",
    "storage_mib",
    "command",
    "shutdown_signal",
    "upstream_protocol",
    "regions",
    "wake_on_request",
)
OUTSIDE_REPOSITORY = (
    "{path!r} must be a path inside the repository, relative to its top (or to the root "
    "directory), such as `Dockerfile` or `services/api`: no leading `/`, no `..`, no `\\` "
    "and no control characters"
)
BUILD_COMMAND = (
    "buildCommand is not supported: dockyard builds with your Dockerfile (`dockerfile`); "
    "send null or leave it out"
)


def _check_watch_path(pattern: str) -> str:
    if not pattern or pattern.startswith(("/", "./")):
        raise ValueError(WATCH_PATH_RULE)
    return pattern


def _check_inside_repository(path: str) -> str:
    """Refused here, where the caller can fix it, rather than failing every later build."""
    if (
        path.startswith("/")
        or "\\" in path
        or ".." in path.split("/")
        or any(ord(character) < 0x20 or character == "\x7f" for character in path)
    ):
        raise ValueError(OUTSIDE_REPOSITORY.format(path=path))
    return path


RepositoryPath = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_check_inside_repository)
]
OpenapiPath = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^(/[\w\-]+)+(\.[\w]+)?$")
]
WatchPath = Annotated[str, StringConstraints(max_length=500), AfterValidator(_check_watch_path)]


class HealthcheckIn(Input):
    method: Literal["GET", "POST"]
    path: Annotated[
        str, StringConstraints(min_length=1, max_length=512, pattern=HEALTH_PATH_PATTERN)
    ]
    interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 10
    timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    initial_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = 0


class ReplicasIn(Input):
    """dockyard runs a fixed number of replicas: `max` of them (it does not autoscale)."""

    min: Annotated[int, Field(ge=0, le=MAX_REPLICAS)]
    max: Annotated[int, Field(ge=1, le=MAX_REPLICAS)]

    @model_validator(mode="after")
    def _ordered(self) -> ReplicasIn:
        if self.min > self.max:
            raise ValueError(REPLICA_BOUNDS)
        return self


class RegionIn(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    replicas: ReplicasIn


class UpdateSettings(EnvironmentScoped):
    dockerfile: RepositoryPath | None = None
    root_directory: RepositoryPath | None = None
    build_command: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    watch_paths: Annotated[list[WatchPath], Field(max_length=10)] | None = None
    auto_deploy: bool | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    v_cpus: Annotated[float, Field(ge=0.25, le=64, multiple_of=0.25)] | None = None
    memory_mib: Annotated[int, Field(ge=256, le=262144, multiple_of=256)] | None = None
    storage_mib: Annotated[int, Field(ge=0, le=1048576, multiple_of=512)] | None = None
    command: (
        Annotated[list[Annotated[str, StringConstraints(max_length=4096)]], Field(max_length=10)]
        | None
    ) = None
    healthcheck: HealthcheckIn | None = None
    shutdown_signal: Literal["SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL"] | None = None
    upstream_protocol: Literal["http1", "h2c"] | None = None
    openapi_spec_path: OpenapiPath | None = None
    regions: Annotated[list[RegionIn], Field(min_length=1, max_length=5)] | None = None
    # dockyard's own: a request to a stopped preview deployment starts it (sentinel.wake).
    wake_on_request: bool | None = None

    @model_validator(mode="after")
    def _supported(self) -> UpdateSettings:
        if self.build_command is not None:
            raise ValueError(BUILD_COMMAND)
        for field in NOT_NULLABLE:
            if self.given(field) and getattr(self, field) is None:
                alias = type(self).model_fields[field].alias or field
                raise ValueError(CANNOT_BE_NULL.format(field=alias))
        names = [region.name for region in self.regions or []]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(DUPLICATE_REGION.format(name=name))
        return self

    def given(self, field: str) -> bool:
        """Whether the caller sent the field at all (`null` included)."""
        return field in self.model_fields_set
