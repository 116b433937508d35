"""Creating deployments: the row first, committed, then its workflow (started by the route).

The row is the source of truth a workflow reads, so it must exist before the workflow
starts; if the start then fails, the row is marked failed rather than left pending forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.crud.lookup import find_deployment
from api.errors import BadRequest
from api.schemas.deployments import GitSource, OciSource
from dockyard import deployments as core
from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.git import clone_url
from dockyard.models import App, Deployment, Environment, Project, now_ms
from dockyard.payloads import DeploymentInput, EnvironmentInput
from dockyard.settings import Settings

NOT_STARTED_CODE = "workflow_not_started"
NOT_STARTED_STEP = "queued"
NO_DEFAULT_IMAGE = "app '{app}' has no default image to deploy and no git repository to build"
NO_DEFAULT_IMAGE_FIX = "Send the image to deploy as `oci.image`."
NO_REPOSITORY = "app '{app}' has no git repository connected, so there is nothing to build"
NO_REPOSITORY_FIX = "Connect one with apps.updateApp (`git.repository`), or deploy an image."
FORK_NEEDS_COMMIT = "building from another repository needs the commit to build"
FORK_FIX = "Add `commitSha`."
NO_COMMIT_TO_REBUILD = (
    "deployment '{id}' never resolved a commit (its build failed before fetching one), "
    "so there is no exact commit to rebuild"
)


@dataclass(frozen=True)
class ImageToDeploy:
    """What a new deployment runs: an image, and where it was built from when known."""

    image: str
    git: GitCommit = field(default_factory=GitCommit)


@dataclass(frozen=True)
class GitToBuild:
    """What a new git deployment builds: a commit (or a branch's head) of a repository."""

    git: GitCommit

    def __post_init__(self) -> None:
        if not self.git.repository:
            raise ValueError("a git deployment needs the repository its build fetches")


Source = ImageToDeploy | GitToBuild


@dataclass(frozen=True)
class WorkflowStart:
    """Everything the route needs to start the workflows, read before the session closes."""

    deployment_id: str
    environment: EnvironmentInput
    deployment: DeploymentInput
    project_slug: str
    app_slug: str
    environment_slug: str
    git: GitCommit
    trigger: str


def image_from_request(image: str, git: GitSource | None) -> ImageToDeploy:
    if git is None:
        return ImageToDeploy(image=image)
    return ImageToDeploy(
        image=image,
        git=GitCommit(
            repository=git.repository,
            branch=git.branch,
            sha=git.commit_sha.lower() if git.commit_sha else None,
            message=git.commit_message,
        ),
    )


def image_for_app(app: App, oci: OciSource | None) -> str:
    """The image a v3 deployment runs: the one sent, else an OCI app's default image."""
    if oci is not None:
        return oci.image
    if app.image is None:
        raise BadRequest.at("body", NO_DEFAULT_IMAGE.format(app=app.slug), NO_DEFAULT_IMAGE_FIX)
    return app.image


def git_from_request(app: App, git: GitSource | None, settings: Settings) -> GitToBuild:
    """A build of the app's repository (or a fork's commit): the commit, else a branch head."""
    if git is not None and git.repository:
        if not git.commit_sha:
            raise BadRequest.at("body.git.commitSha", FORK_NEEDS_COMMIT, FORK_FIX)
        repository = git.repository
    elif app.git_repository:
        repository = app.git_repository
    else:
        raise BadRequest.at("body.git", NO_REPOSITORY.format(app=app.slug), NO_REPOSITORY_FIX)
    return GitToBuild(
        GitCommit(
            repository=clone_url(repository, settings.git_clone_url),
            branch=git.branch if git else None,
            sha=git.commit_sha.lower() if git and git.commit_sha else None,
            message=git.commit_message if git else None,
        )
    )


def source_of_earlier(
    session: Session, *, workspace_id: str, app: App, deployment_id: str
) -> Source:
    """Re-run an earlier deployment in an environment of its app: a git deployment is
    rebuilt from exactly its commit, an image deployment runs its image again."""
    earlier = find_deployment(session, workspace_id=workspace_id, deployment_id=deployment_id)
    location = "body.deployment.deploymentId"
    if earlier.app_id != app.id:
        raise BadRequest.at(
            location,
            f"deployment '{deployment_id}' belongs to another app, not '{app.slug}'",
            "Re-run a deployment of the same app.",
        )
    if earlier.source == "git" and earlier.git_repository:
        if not earlier.git_commit_sha:
            raise BadRequest.at(location, NO_COMMIT_TO_REBUILD.format(id=deployment_id))
        return GitToBuild(GitCommit.of(earlier))
    if not earlier.image:
        raise BadRequest.at(location, f"deployment '{deployment_id}' has no image to re-run")
    return ImageToDeploy(image=earlier.image, git=GitCommit.of(earlier))


def create_deployment(
    session: Session,
    *,
    settings: Settings,
    box: SecretBox,
    project: Project,
    app: App,
    environment: Environment,
    source: Source,
    trigger: str,
) -> WorkflowStart:
    """Insert the pending deployment; the caller commits, then starts the workflows."""
    deployment = core.create_deployment(
        session,
        settings=settings,
        box=box,
        app=app,
        environment=environment,
        source="git" if isinstance(source, GitToBuild) else "image",
        image=source.image if isinstance(source, ImageToDeploy) else None,
        git=source.git,
        trigger=trigger,
    )
    return WorkflowStart(
        deployment_id=deployment.id,
        environment=core.environment_input(environment, settings),
        deployment=core.deployment_input(deployment, environment, settings),
        project_slug=project.slug,
        app_slug=app.slug,
        environment_slug=environment.slug,
        git=GitCommit.of(deployment),
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
