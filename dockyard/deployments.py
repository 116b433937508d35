"""Creating deployments: everything a deployment runs with is frozen into it here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.ids import new_id
from dockyard.keyspaces import freeze_policies
from dockyard.models import App, Deployment, Environment, EnvironmentVariable, Project
from dockyard.payloads import DeploymentInput, EnvironmentInput, TaskQueues
from dockyard.settings import Settings
from dockyard.specs import BuildSpec, RegionSpec, RuntimeSpec

TERMINAL_STATUSES = frozenset({"ready", "failed", "skipped", "superseded", "cancelled", "stopped"})
IN_PROGRESS_STATUSES = frozenset(
    {"pending", "queued", "starting", "building", "deploying", "network", "finalizing"}
)


def environment_regions(environment: Environment, settings: Settings) -> list[RegionSpec]:
    """The environment's own regions, or every configured region with one replica."""
    if environment.regions:
        return [RegionSpec.model_validate(region) for region in environment.regions]
    return [RegionSpec(name=name) for name in settings.regions]


def environment_variables(session: Session, environment_id: str, box: SecretBox) -> dict[str, str]:
    rows = session.scalars(
        select(EnvironmentVariable).where(EnvironmentVariable.environment_id == environment_id)
    )
    return {row.key: box.open(row.value_encrypted).decode() for row in rows}


def create_deployment(
    session: Session,
    *,
    settings: Settings,
    box: SecretBox,
    app: App,
    environment: Environment,
    source: str,
    image: str | None = None,
    git: GitCommit = GitCommit(),
    trigger: str = "api",
) -> Deployment:
    """A `pending` deployment with its runtime, regions, variables and gateway policies
    frozen in; without a branch, it records the one its environment deploys."""
    variables = environment_variables(session, environment.id, box)
    deployment = Deployment(
        id=new_id("deployment"),
        workspace_id=_workspace_id(session, app),
        project_id=app.project_id,
        app_id=app.id,
        environment_id=environment.id,
        status="pending",
        trigger=trigger,
        source=source,
        image=image,
        git_repository=git.repository,
        git_branch=git.branch or environment.branch or app.default_branch,
        git_commit_sha=git.sha,
        git_commit_message=git.message,
        git_commit_author=git.author,
        git_commit_author_avatar_url=git.author_avatar_url,
        git_commit_timestamp=git.timestamp,
        runtime=RuntimeSpec.model_validate(environment.runtime or {}).model_dump(mode="json"),
        build=BuildSpec.model_validate(environment.build or {}).model_dump(mode="json"),
        regions=[r.model_dump(mode="json") for r in environment_regions(environment, settings)],
        variables_encrypted=box.seal_mapping(variables) if variables else None,
    )
    session.add(deployment)
    session.flush()
    freeze_policies(session, deployment)
    return deployment


def deployment_input(
    deployment: Deployment, environment: Environment, settings: Settings
) -> DeploymentInput:
    return DeploymentInput(
        deployment_id=deployment.id,
        environment_id=environment.id,
        production=environment.kind == "production",
        queues=TaskQueues(prefix=settings.task_queue_prefix),
        source=deployment.source,
        image=deployment.image,
        runtime=RuntimeSpec.model_validate(deployment.runtime),
        regions=[RegionSpec.model_validate(region) for region in deployment.regions],
        standby_time=settings.standby_time,
        preview_idle_time=settings.preview_idle_time,
        build_concurrency=settings.build_concurrency,
        build_timeout=settings.build_timeout,
    )


def environment_input(environment: Environment, settings: Settings) -> EnvironmentInput:
    return EnvironmentInput(
        environment_id=environment.id,
        production=environment.kind == "production",
        queues=TaskQueues(prefix=settings.task_queue_prefix),
        standby_time=settings.standby_time,
        preview_idle_time=settings.preview_idle_time,
    )


def _workspace_id(session: Session, app: App) -> str:
    project = session.get(Project, app.project_id)
    if project is None:
        raise LookupError(f"project {app.project_id} of app {app.id} does not exist")
    return project.workspace_id
