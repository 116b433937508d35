"""Changing how an environment's later deployments build and run."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.errors import BadRequest
from api.schemas.environment_settings import UpdateSettings
from dockyard.models import Environment
from dockyard.specs import BuildSpec, HealthCheck, RegionSpec, RuntimeSpec

UNKNOWN_REGION = "region {name!r} is not one this dockyard runs"
REGION_FIX = "Use one of: {regions} (DOCKYARD_REGIONS)."
WAKE_PREVIEW_ONLY = (
    "only a preview environment wakes on request; production keeps its standby deployments "
    "warm instead"
)
WAKE_FIX = "Leave wakeOnRequest out for a production environment."
# Unkey's field -> dockyard's RuntimeSpec / BuildSpec field, where the names differ.
RUNTIME_FIELDS = {
    "port": "port",
    "v_cpus": "vcpus",
    "memory_mib": "memory_mib",
    "storage_mib": "storage_mib",
    "command": "command",
    "shutdown_signal": "shutdown_signal",
    "upstream_protocol": "upstream_protocol",
    "openapi_spec_path": "openapi_spec_path",
}
BUILD_FIELDS = {
    "root_directory": "root_directory",
    "watch_paths": "watch_paths",
    "auto_deploy": "auto_deploy",
}


def update_settings(
    session: Session, *, environment: Environment, body: UpdateSettings, regions: list[str]
) -> None:
    """Apply what was sent; everything is validated before anything is written."""
    if body.given("wake_on_request") and environment.kind == "production":
        raise BadRequest.at("body.wakeOnRequest", WAKE_PREVIEW_ONLY, WAKE_FIX)
    runtime_changes: dict[str, Any] = {
        target: getattr(body, field)
        for field, target in RUNTIME_FIELDS.items()
        if body.given(field)
    }
    if body.given("healthcheck"):
        check = body.healthcheck
        runtime_changes["healthcheck"] = (
            HealthCheck.model_validate(check.model_dump()) if check is not None else None
        )
    build_changes: dict[str, Any] = {
        target: getattr(body, field) for field, target in BUILD_FIELDS.items() if body.given(field)
    }
    if body.given("dockerfile"):
        # dockyard always builds from a Dockerfile: clearing it means the default one.
        build_changes["dockerfile"] = body.dockerfile or BuildSpec().dockerfile
    runtime = RuntimeSpec.model_validate(environment.runtime or {}).model_copy(
        update=runtime_changes
    )
    build = BuildSpec.model_validate(environment.build or {}).model_copy(update=build_changes)
    region_specs = _regions(body, regions) if body.regions is not None else None
    # New objects, not in-place edits, so SQLAlchemy sees the JSON columns change.
    environment.runtime = RuntimeSpec.model_validate(runtime.model_dump()).model_dump(mode="json")
    environment.build = BuildSpec.model_validate(build.model_dump()).model_dump(mode="json")
    if region_specs is not None:
        environment.regions = [region.model_dump(mode="json") for region in region_specs]
    if body.wake_on_request is not None:
        environment.wake_on_request = body.wake_on_request
    session.flush()


def _regions(body: UpdateSettings, known: list[str]) -> list[RegionSpec]:
    specs = []
    for index, region in enumerate(body.regions or []):
        if region.name not in known:
            raise BadRequest.at(
                f"body.regions[{index}].name",
                UNKNOWN_REGION.format(name=region.name),
                REGION_FIX.format(regions=", ".join(known)),
            )
        specs.append(RegionSpec(name=region.name, replicas=region.replicas.max))
    return specs
