"""Creating deployments: the row first, committed, then its workflow (started by the route).

The row is the source of truth a workflow reads, so it must exist before the workflow
starts; if the start then fails, the row is marked failed rather than left pending forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.crud.lookup import find_deployment
from api.errors import BadRequest
from api.schemas.deployments import GitSource, OciSource
from dockyard import deployments as core
from dockyard.crypto import SecretBox
from dockyard.models import App, Deployment, Environment, Project, now_ms
from dockyard.payloads import DeploymentInput, EnvironmentInput
from dockyard.settings import Settings

NOT_STARTED_CODE = "workflow_not_started"
NOT_STARTED_STEP = "queued"
NO_DEFAULT_IMAGE = (
    "app '{app}' has no default image to deploy: it is a git app, and building from git "
    "is not supported yet"
)
NO_DEFAULT_IMAGE_FIX = "Send the image to deploy as `oci.image`."


@dataclass(frozen=True)
class ImageToDeploy:
    """What a new deployment runs: an image, and where it was built from when known."""

    image: str
    git_repository: str | None = None
    git_branch: str | None = None
    git_commit_sha: str | None = None
    git_commit_message: str | None = None


@dataclass(frozen=True)
class WorkflowStart:
    """Everything the route needs to start the workflows, read before the session closes."""

    deployment_id: str
    environment: EnvironmentInput
    deployment: DeploymentInput
    project_slug: str
    app_slug: str
    environment_slug: str
    branch: str | None
    sha: str | None
    trigger: str


def image_from_request(image: str, git: GitSource | None) -> ImageToDeploy:
    if git is None:
        return ImageToDeploy(image=image)
    return ImageToDeploy(
        image=image,
        git_repository=git.repository,
        git_branch=git.branch,
        git_commit_sha=git.commit_sha.lower() if git.commit_sha else None,
        git_commit_message=git.commit_message,
    )


def image_for_app(app: App, oci: OciSource | None) -> str:
    """The image a v3 deployment runs: the one sent, else an OCI app's default image."""
    if oci is not None:
        return oci.image
    if app.image is None:
        raise BadRequest.at("body", NO_DEFAULT_IMAGE.format(app=app.slug), NO_DEFAULT_IMAGE_FIX)
    return app.image


def image_of_earlier(
    session: Session, *, workspace_id: str, app: App, deployment_id: str
) -> ImageToDeploy:
    """Re-run: the earlier deployment's image and git origin, in an environment of its app."""
    earlier = find_deployment(session, workspace_id=workspace_id, deployment_id=deployment_id)
    location = "body.deployment.deploymentId"
    if earlier.app_id != app.id:
        raise BadRequest.at(
            location,
            f"deployment '{deployment_id}' belongs to another app, not '{app.slug}'",
            "Re-run a deployment of the same app.",
        )
    if not earlier.image:
        raise BadRequest.at(location, f"deployment '{deployment_id}' has no image to re-run")
    return ImageToDeploy(
        image=earlier.image,
        git_repository=earlier.git_repository,
        git_branch=earlier.git_branch,
        git_commit_sha=earlier.git_commit_sha,
        git_commit_message=earlier.git_commit_message,
    )


def create_deployment(
    session: Session,
    *,
    settings: Settings,
    box: SecretBox,
    project: Project,
    app: App,
    environment: Environment,
    source: ImageToDeploy,
    trigger: str,
) -> WorkflowStart:
    """Insert the pending deployment; the caller commits, then starts the workflows."""
    deployment = core.create_deployment(
        session,
        settings=settings,
        box=box,
        app=app,
        environment=environment,
        source="image",
        image=source.image,
        git_repository=source.git_repository,
        git_branch=source.git_branch,
        git_commit_sha=source.git_commit_sha,
        git_commit_message=source.git_commit_message,
        trigger=trigger,
    )
    return WorkflowStart(
        deployment_id=deployment.id,
        environment=core.environment_input(environment, settings),
        deployment=core.deployment_input(deployment, environment, settings),
        project_slug=project.slug,
        app_slug=app.slug,
        environment_slug=environment.slug,
        branch=deployment.git_branch,
        sha=deployment.git_commit_sha,
        trigger=trigger,
    )


def mark_not_started(session: Session, *, deployment_id: str, reason: str) -> None:
    """The workflow could not be started: fail the deployment so nobody waits on it."""
    session.execute(
        update(Deployment)
        .where(Deployment.id == deployment_id, Deployment.status == "pending")
        .values(
            status="failed",
            error_code=NOT_STARTED_CODE,
            error_step=NOT_STARTED_STEP,
            error_message=f"the deployment workflow could not be started: {reason}"[:4096],
            finished_at=now_ms(),
            updated_at=now_ms(),
        )
    )
