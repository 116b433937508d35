"""`dockyard apps connect` and `dockyard apps disconnect`: the repository an app deploys from.

A connected app builds and deploys on every push GitHub reports to the API's webhook: its
default branch to production, any other branch to that branch's preview environment.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from dockyard.cli.client import api_url_of
from dockyard.cli.options import ApiUrl, AppOption, Project, RootKey, call, fail, require_project

REPOSITORY = re.compile(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")
NOT_A_REPOSITORY = "{name!r} is not a GitHub repository as owner/name, e.g. acme/shop-api"
WEBHOOK = (
    "pushes now deploy it once GitHub sends them: point a GitHub App or repository webhook at "
    "{url}/webhooks/github (content type application/json, secret DOCKYARD_GITHUB_WEBHOOK_SECRET)"
)


def connect(
    repository: Annotated[str, typer.Argument(help="GitHub's owner/name, e.g. acme/shop-api.")],
    branch: Annotated[
        str | None,
        typer.Option(
            help="The branch that deploys production. Default: as it was (main at first)."
        ),
    ] = None,
    project: Project = "",
    app_slug: AppOption = "default",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Connect an app to a GitHub repository, so that pushes build and deploy it."""
    if not REPOSITORY.fullmatch(repository):
        fail(NOT_A_REPOSITORY.format(name=repository))
    git: dict[str, Any] = {"repository": repository}
    if branch:
        git["defaultBranch"] = branch
    body = {"project": require_project(project), "app": app_slug, "git": git}
    connected = call(api_url, root_key, "apps.updateApp", body)["git"]
    typer.echo(
        f"{app_slug} is connected to {connected['repository']}: pushes to "
        f"{connected.get('defaultBranch')} deploy production, other branches their previews"
    )
    typer.echo(WEBHOOK.format(url=api_url_of(api_url).rstrip("/")))


def disconnect(
    project: Project = "",
    app_slug: AppOption = "default",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Disconnect an app from its repository: pushes no longer deploy it."""
    body = {"project": require_project(project), "app": app_slug, "git": None}
    call(api_url, root_key, "apps.updateApp", body)
    typer.echo(f"{app_slug} is no longer connected to a repository")
