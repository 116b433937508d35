"""What a push, a deleted branch or a closed pull request does to the connected apps.

A push to an app's default branch deploys its production environment; a push to any other
branch deploys that branch's own preview environment, created on its first push with the
settings and variables of the app's `preview` environment. An environment whose watch
paths the push did not touch, or whose auto-deploy is off, gets a `skipped` deployment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.crud import deployments as crud
from api.crud.environments import add_environment
from api.github import Push, Repository
from dockyard import deployments as core
from dockyard.commits import GitCommit
from dockyard.crypto import SecretBox
from dockyard.git import GITHUB_NAME, clone_url, same_repository
from dockyard.ids import slugify
from dockyard.models import (
    App,
    Deployment,
    DeploymentStep,
    Environment,
    EnvironmentVariable,
    Project,
    WebhookDelivery,
    now_ms,
)
from dockyard.payloads import EnvironmentInput
from dockyard.settings import Settings
from dockyard.specs import BuildSpec
from dockyard.watch_paths import should_build

PREVIEW_PREFIX = "preview-"
AUTO_DEPLOY_OFF = "auto-deploy is off for this environment"
NOT_WATCHED = "no changed file matches the environment's watch paths"


@dataclass(frozen=True)
class PushDeployment:
    deployment_id: str
    start: crud.WorkflowStart | None  # None: skipped, so no workflow runs


@dataclass(frozen=True)
class Archival:
    """A running preview deployment to stop, through its environment's workflow."""

    environment: EnvironmentInput
    deployment_id: str


def record_delivery(session: Session, *, delivery_id: str, event: str) -> bool:
    """Remember the delivery in this transaction; False when it was seen before."""
    if session.get(WebhookDelivery, delivery_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WebhookDelivery(id=delivery_id, event=event))
    except IntegrityError:  # the same delivery, arriving twice at once
        return False
    return True


def forget_delivery(session: Session, *, delivery_id: str) -> None:
    """Let GitHub's redelivery of a delivery that could not be acted on try again."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is not None:
        session.delete(delivery)


def connected_apps(session: Session, repository: Repository) -> list[App]:
    """Every app connected to the repository, by `owner/name` or by any of its URLs."""
    apps = session.scalars(select(App).where(App.git_repository.is_not(None)).order_by(App.id))
    return [app for app in apps if same_repository(app.git_repository or "", *repository.names)]


def deploy_push(
    session: Session, *, settings: Settings, box: SecretBox, app: App, push: Push, branch: str
) -> PushDeployment | None:
    """The pushed commit's deployment in the branch's environment (None: the app has no
    production environment to deploy its default branch to)."""
    environment = branch_environment(session, app=app, branch=branch)
    if environment is None:
        return None
    author, avatar_url = push.author()
    source = crud.GitToBuild(
        GitCommit(
            repository=_fetch_url(app, push.repository, settings),
            branch=branch,
            sha=push.after,
            message=push.head_commit.message if push.head_commit else None,
            author=author,
            author_avatar_url=avatar_url,
            timestamp=push.authored_ms(),
        )
    )
    project = session.get_one(Project, app.project_id)
    start = crud.create_deployment(
        session,
        settings=settings,
        box=box,
        project=project,
        app=app,
        environment=environment,
        source=source,
        trigger="github",
    )
    spec = BuildSpec.model_validate(environment.build or {})
    reason = _skip_reason(spec, push)
    if reason is None:
        return PushDeployment(deployment_id=start.deployment_id, start=start)
    _mark_skipped(session, start.deployment_id, reason)
    return PushDeployment(deployment_id=start.deployment_id, start=None)


def branch_environment(session: Session, *, app: App, branch: str) -> Environment | None:
    """Production for the default branch; else the branch's preview, created on first use."""
    if branch == app.default_branch:
        return session.scalar(
            select(Environment).where(
                Environment.app_id == app.id, Environment.kind == "production"
            )
        )
    existing = _preview_of(session, app, branch)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            return _create_preview(session, app, branch)
    except IntegrityError:  # a concurrent push of the same new branch created it first
        return _preview_of(session, app, branch)


def previews_to_archive(
    session: Session, *, settings: Settings, app: App, branch: str
) -> list[Archival]:
    """The running deployments of the branch's preview environments."""
    rows = session.execute(
        select(Environment, Deployment.id)
        .join(Deployment, Deployment.environment_id == Environment.id)
        .where(
            Environment.app_id == app.id,
            Environment.kind == "preview",
            Environment.branch == branch,
            Deployment.status == "ready",
        )
        .order_by(Deployment.created_at)
    ).all()
    return [
        Archival(environment=core.environment_input(environment, settings), deployment_id=row_id)
        for environment, row_id in rows
    ]


def _preview_of(session: Session, app: App, branch: str) -> Environment | None:
    return session.scalar(
        select(Environment).where(
            Environment.app_id == app.id,
            Environment.kind == "preview",
            Environment.branch == branch,
        )
    )


def _create_preview(session: Session, app: App, branch: str) -> Environment:
    template = session.scalar(
        select(Environment)
        .where(
            Environment.app_id == app.id,
            Environment.kind == "preview",
            Environment.branch.is_(None),
        )
        .order_by(Environment.created_at)
        .limit(1)
    )
    environment = add_environment(
        session,
        app=app,
        slug=_preview_slug(session, app, branch),
        kind="preview",
        description=f"Previews of branch {branch}"[:1024],
    )
    environment.branch = branch
    if template is not None:
        environment.runtime = dict(template.runtime or {})
        environment.build = dict(template.build or {})
        environment.regions = list(template.regions or [])
        variables = session.scalars(
            select(EnvironmentVariable).where(EnvironmentVariable.environment_id == template.id)
        )
        session.add_all(
            EnvironmentVariable(
                environment_id=environment.id,
                key=variable.key,
                kind=variable.kind,
                description=variable.description,
                value_encrypted=variable.value_encrypted,
            )
            for variable in variables
        )
    session.flush()
    return environment


def _preview_slug(session: Session, app: App, branch: str) -> str:
    """`preview-<branch>`, made unique with a hash of the branch when cut or taken."""
    slug = f"{PREVIEW_PREFIX}{slugify(branch)}".rstrip("-")
    taken = session.scalar(
        select(Environment.id).where(Environment.app_id == app.id, Environment.slug == slug)
    )
    if len(slug) > len(PREVIEW_PREFIX) and len(slug) <= 63 and taken is None:
        return slug
    digest = hashlib.sha256(branch.encode()).hexdigest()[:8]
    return f"{slug[:54].rstrip('-')}-{digest}"


def _fetch_url(app: App, repository: Repository, settings: Settings) -> str:
    # An app connected by URL is fetched from that URL (the worker's git may hold its
    # credentials); one connected as `owner/name` from where GitHub says it lives.
    connected = app.git_repository or repository.full_name
    if GITHUB_NAME.match(connected) and repository.clone_url:
        return repository.clone_url
    return clone_url(connected, settings.git_clone_url)


def _skip_reason(spec: BuildSpec, push: Push) -> str | None:
    if not spec.auto_deploy:
        return AUTO_DEPLOY_OFF
    if not should_build(spec.watch_paths, spec.root_directory, push.changed_files()):
        return NOT_WATCHED
    return None


def _mark_skipped(session: Session, deployment_id: str, reason: str) -> None:
    deployment = session.get_one(Deployment, deployment_id)
    deployment.status = "skipped"
    deployment.finished_at = now_ms()
    session.add(
        DeploymentStep(
            deployment_id=deployment_id,
            name="queued",
            status="skipped",
            message=reason,
            finished_at=now_ms(),
        )
    )
