"""`dockyard deploy`: create a deployment and follow it until it is ready or has failed.

Given a directory instead of an image, it first builds the directory's Dockerfile on this
machine's Docker engine (dockyard/cli/local_build.py), streaming the build, and deploys the
image that comes out.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dockyard.cli.client import ApiError, edge_port_of, temporal_ui_of
from dockyard.cli.local_build import (
    LocalBuildError,
    build,
    directory_of,
    git_state,
    image_repository,
    local_source,
)
from dockyard.cli.options import (
    NOT_LIVE,
    ApiUrl,
    AppOption,
    EdgePort,
    EnvOption,
    Project,
    RootKey,
    TemporalUi,
    client,
    fail,
    require_project,
    workflow_url,
)
from dockyard.cli.watch import domain_urls, follow, step_lines

ONLY_FOR_DIRECTORIES = "--dockerfile and --build-arg apply only when deploying a directory"
DIRTY = (
    "git: {where} has uncommitted changes, so the deployment names no commit "
    "(commit them, or pass --commit)"
)


def deploy(
    source: Annotated[
        str,
        typer.Argument(
            metavar="IMAGE|DIRECTORY",
            help="Image to deploy (ghcr.io/acme/api:v1), or a directory to build (. or ./api).",
        ),
    ],
    project: Project = "",
    app_slug: AppOption = "default",
    env: EnvOption = "production",
    branch: Annotated[
        str | None,
        typer.Option(
            help="Branch the image was built from. Default for a directory: its git branch."
        ),
    ] = None,
    commit: Annotated[
        str | None,
        typer.Option(
            help="Commit SHA the image was built from. Default for a directory: its git HEAD, "
            "unless it has uncommitted changes."
        ),
    ] = None,
    dockerfile: Annotated[
        str | None,
        typer.Option(
            help="Dockerfile to build, relative to where you run dockyard (as docker build -f). "
            "Default: DIRECTORY/Dockerfile.",
            show_default=False,
        ),
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option("--build-arg", metavar="KEY=VALUE", help="A build argument; repeatable."),
    ] = None,
    detach: Annotated[bool, typer.Option(help="Return once the deployment is created.")] = False,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
    edge_port: EdgePort = None,
    temporal_ui: TemporalUi = "",
) -> None:
    """Deploy an image, or build a directory and deploy it; follow it until it is ready or
    has failed.

    A directory is built with its Dockerfile (and .dockerignore) by the Docker engine of the
    machine the CLI runs on (DOCKER_HOST, else the local socket), streaming the build, and
    tagged dockyard-local/<project>-<app>:<image id>. dockyard runs that image from the same
    engine, so run the CLI where dockyard runs, or point DOCKER_HOST at its engine.
    """
    project = require_project(project)
    with client(api_url, root_key) as api:
        image, branch, commit = _image_of(
            source,
            project=project,
            app=app_slug,
            dockerfile=dockerfile,
            build_args=build_arg or [],
            branch=branch,
            commit=commit,
        )
        body: dict[str, Any] = {
            "project": project,
            "app": app_slug,
            "environment": env,
            "image": {"dockerImage": image},
            "trigger": "cli",
        }
        if branch or commit:
            body["git"] = {k: v for k, v in (("branch", branch), ("commitSha", commit)) if v}
        try:
            created = api.call("deployments.createDeployment", body)
            deployment_id = created["deploymentId"]
            typer.echo(f"deployment {deployment_id} created")
            typer.echo(f"  workflow: {workflow_url(temporal_ui_of(temporal_ui), deployment_id)}")
            if detach:
                return
            deployment = follow(api, deployment_id, say=typer.echo)
        except ApiError as error:
            fail(error.message)
    for line in step_lines(deployment):
        typer.echo(line)
    if deployment["status"] != "ready":
        reason = (deployment.get("error") or {}).get("message", "no reason recorded")
        fail(f"deployment {deployment_id} {deployment['status']}: {reason}")
    if not deployment.get("isCurrent") and "promote" in deployment.get("availableActions", []):
        typer.secho(NOT_LIVE.format(id=deployment_id), fg=typer.colors.YELLOW)
    else:
        typer.secho("ready", fg=typer.colors.GREEN)
    for url in domain_urls(deployment, edge_port_of(edge_port)):
        typer.echo(f"  {url}")


def _image_of(
    source: str,
    *,
    project: str,
    app: str,
    dockerfile: str | None,
    build_args: list[str],
    branch: str | None,
    commit: str | None,
) -> tuple[str, str | None, str | None]:
    """The image to deploy, built first when `source` is a directory, and the branch and
    commit to record: as given, else the directory's git branch and clean HEAD."""
    try:
        directory = directory_of(source)
        if directory is None:
            if dockerfile or build_args:
                fail(ONLY_FOR_DIRECTORIES)
            return source, branch, commit
        local = local_source(directory, dockerfile, build_args)
        state = git_state(local)
        if state is not None:
            if state.dirty and not commit:
                typer.echo(DIRTY.format(where=state.branch or "HEAD"))
            branch = branch or state.branch
            commit = commit or (None if state.dirty else state.commit)
            typer.echo(f"git: branch {branch or '(none)'}, commit {commit or '(none)'}")
        typer.echo(f"building {local.context} with {local.dockerfile.name}")
        built = build(local, image_repository(project, app), say=typer.echo)
    except LocalBuildError as error:
        fail(str(error))
    cached = {0: "no step", 1: "1 step"}.get(built.cached_steps, f"{built.cached_steps} steps")
    typer.echo(f"built {built.tag} in {built.seconds:.2f}s, {cached} from the layer cache")
    return built.tag, branch, commit
