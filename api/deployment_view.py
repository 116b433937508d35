"""A stored deployment as Unkey's Deployment object (plus dockyard's `steps`)."""

from __future__ import annotations

from api.crud.deployment_queries import DeploymentRecord
from api.deployment_state import (
    available_actions,
    error_message,
    trigger_via,
    unkey_error_code,
    unkey_status,
)
from api.schemas.deployments import (
    DeploymentOut,
    DockerOut,
    ErrorOut,
    GitAuthorOut,
    GitOut,
    RegionStatusOut,
    StepOut,
    TriggerOut,
)
from api.schemas.environments import RuntimeOut
from dockyard.models import Deployment, DeploymentStep, Instance
from dockyard.specs import RegionSpec, RuntimeSpec


def deployment_out(
    record: DeploymentRecord,
    *,
    domains: list[str],
    steps: list[DeploymentStep] | None = None,
    instances: list[Instance] | None = None,
) -> DeploymentOut:
    deployment = record.deployment
    production = record.environment_kind == "production"
    # Only production has a "current" deployment: the one its live domain serves.
    is_current = production and record.environment_current_id == deployment.id
    return DeploymentOut(
        id=deployment.id,
        status=unkey_status(deployment.status),
        is_current=is_current,
        environment=record.environment_slug,
        app=record.app_slug,
        project=record.project_slug,
        trigger=TriggerOut(via=trigger_via(deployment.trigger)),
        available_actions=available_actions(
            status=deployment.status,
            production=production,
            is_current=is_current,
            app_rolled_back=record.app_rolled_back,
            has_current=record.environment_current_id is not None,
        ),
        regions=[RegionSpec.model_validate(region).name for region in deployment.regions],
        runtime=RuntimeOut.of(RuntimeSpec.model_validate(deployment.runtime or {})),
        created_at=deployment.created_at,
        git=_git(deployment),
        docker=(
            DockerOut(image=deployment.image, resolved_image=deployment.image_digest)
            if deployment.image
            else None
        ),
        error=_error(deployment),
        finished_at=deployment.finished_at,
        domains=domains,
        updated_at=deployment.updated_at,
        steps=[_step(step) for step in steps] if steps is not None else None,
        region_status=_regions(deployment, instances) if instances is not None else None,
    )


def _regions(deployment: Deployment, instances: list[Instance]) -> list[RegionStatusOut]:
    out = []
    for spec in deployment.regions:
        region = RegionSpec.model_validate(spec).name
        counts: dict[str, int] = {}
        for instance in instances:
            if instance.region == region:
                counts[instance.status] = counts.get(instance.status, 0) + 1
        # The workflow names the region whose failure ended the deployment.
        failed_here = deployment.status == "failed" and (deployment.error_message or "").startswith(
            f"region {region} "
        )
        if failed_here:
            status = "unavailable" if deployment.error_code == "region_unavailable" else "failed"
        elif not counts:
            status = "pending"
        elif set(counts) == {"healthy"}:
            status = "ready"
        elif "starting" in counts:
            status = "starting"
        else:
            status = max(counts, key=lambda name: counts[name])
        message = error_message(deployment.error_code, deployment.error_message)
        out.append(
            RegionStatusOut(
                region=region,
                status=status,
                instances=counts,
                message=message if failed_here else None,
            )
        )
    return out


def _git(deployment: Deployment) -> GitOut | None:
    # Unkey's DeploymentGit requires the commit; a branch alone is not shown.
    if not deployment.git_commit_sha:
        return None
    return GitOut(
        commit_sha=deployment.git_commit_sha,
        branch=deployment.git_branch,
        commit_message=deployment.git_commit_message,
        commit_timestamp=deployment.git_commit_timestamp,
        author=GitAuthorOut(
            handle=deployment.git_commit_author,
            avatar_url=deployment.git_commit_author_avatar_url,
        )
        if deployment.git_commit_author
        else None,
    )


def _error(deployment: Deployment) -> ErrorOut | None:
    if deployment.status != "failed":
        return None
    return ErrorOut(
        code=unkey_error_code(deployment.error_code),
        step=deployment.error_step or "unknown",
        message=error_message(deployment.error_code, deployment.error_message),
    )


def _step(step: DeploymentStep) -> StepOut:
    return StepOut(
        name=step.name,
        status=step.status,
        message=step.message,
        started_at=step.started_at,
        finished_at=step.finished_at,
    )
