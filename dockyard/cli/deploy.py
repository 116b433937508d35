"""`dockyard deploy`: create a deployment and follow it until it is ready or has failed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dockyard.cli.client import ApiError, edge_port_of, temporal_ui_of
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


def deploy(
    image: Annotated[str, typer.Argument(help="Image to deploy, e.g. ghcr.io/acme/api:v1.")],
    project: Project = "",
    app_slug: AppOption = "default",
    env: EnvOption = "production",
    branch: Annotated[str | None, typer.Option(help="Branch the image was built from.")] = None,
    commit: Annotated[str | None, typer.Option(help="Commit SHA the image was built from.")] = None,
    detach: Annotated[bool, typer.Option(help="Return once the deployment is created.")] = False,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
    edge_port: EdgePort = None,
    temporal_ui: TemporalUi = "",
) -> None:
    """Deploy a pre-built image and follow it until it is ready or has failed."""
    body: dict[str, Any] = {
        "project": require_project(project),
        "app": app_slug,
        "environment": env,
        "image": {"dockerImage": image},
        "trigger": "cli",
    }
    if branch or commit:
        body["git"] = {k: v for k, v in (("branch", branch), ("commitSha", commit)) if v}
    with client(api_url, root_key) as api:
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
