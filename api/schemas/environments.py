"""environments.*: where an app's deployments run (kind production or preview)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from api.schemas.base import Input, Output, ResourceIdentifier, Slug
from dockyard.models import Environment
from dockyard.specs import BuildSpec, HealthCheck, RegionSpec, RuntimeSpec

EnvironmentKind = Literal["production", "preview"]


class EnvironmentRef(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier


class ListEnvironments(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier


class CreateEnvironment(Input):
    """dockyard extension: Unkey creates only the two environments every app starts with."""

    project: ResourceIdentifier
    app: ResourceIdentifier
    slug: Slug
    kind: EnvironmentKind
    description: Annotated[str, StringConstraints(max_length=1024)] = ""


class EnvironmentCreated(Output):
    id: str  # as projects.createProject answers


class HealthcheckOut(Output):
    method: str
    path: str
    interval_seconds: int
    timeout_seconds: int
    failure_threshold: int
    initial_delay_seconds: int

    @classmethod
    def of(cls, check: HealthCheck) -> HealthcheckOut:
        return cls.model_validate(check.model_dump())


class RuntimeOut(Output):
    port: int
    v_cpus: float
    memory_mib: int
    storage_mib: int
    command: list[str]
    shutdown_signal: str
    upstream_protocol: str
    healthcheck: HealthcheckOut | None = None
    openapi_spec_path: str | None = None

    @classmethod
    def of(cls, runtime: RuntimeSpec) -> RuntimeOut:
        return cls(
            port=runtime.port,
            v_cpus=runtime.vcpus,
            memory_mib=runtime.memory_mib,
            storage_mib=runtime.storage_mib,
            command=list(runtime.command),
            shutdown_signal=runtime.shutdown_signal,
            upstream_protocol=runtime.upstream_protocol,
            healthcheck=HealthcheckOut.of(runtime.healthcheck) if runtime.healthcheck else None,
            openapi_spec_path=runtime.openapi_spec_path,
        )


class BuildOut(Output):
    root_directory: str
    watch_paths: list[str]
    auto_deploy: bool
    dockerfile: str | None = None

    @classmethod
    def of(cls, build: BuildSpec) -> BuildOut:
        return cls.model_validate(build.model_dump())


class ReplicasOut(Output):
    min: int
    max: int


class RegionOut(Output):
    name: str
    replicas: ReplicasOut

    @classmethod
    def of(cls, region: RegionSpec) -> RegionOut:
        # dockyard runs a fixed number of replicas: Unkey's autoscaling range collapses.
        return cls(name=region.name, replicas=ReplicasOut(min=region.replicas, max=region.replicas))


class EnvironmentOut(Output):
    id: str
    slug: str
    description: str
    kind: EnvironmentKind
    delete_protection: bool
    created_at: int
    updated_at: int | None = None
    runtime: RuntimeOut
    build: BuildOut
    regions: list[RegionOut]
    # dockyard's own: whether a request to a stopped deployment starts it (previews only).
    wake_on_request: bool

    @classmethod
    def of(cls, environment: Environment, *, regions: list[RegionSpec]) -> EnvironmentOut:
        kind: EnvironmentKind = "production" if environment.kind == "production" else "preview"
        return cls(
            id=environment.id,
            slug=environment.slug,
            description=environment.description,
            kind=kind,
            delete_protection=environment.delete_protection,
            created_at=environment.created_at,
            updated_at=environment.updated_at,
            runtime=RuntimeOut.of(RuntimeSpec.model_validate(environment.runtime or {})),
            build=BuildOut.of(BuildSpec.model_validate(environment.build or {})),
            regions=[RegionOut.of(region) for region in regions],
            wake_on_request=environment.kind == "preview" and environment.wake_on_request,
        )
