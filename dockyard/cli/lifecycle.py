"""`dockyard stop` and `dockyard start`: a preview deployment's instances, off and on again.

The environment's workflow carries both out; the commands wait until the deployment's
status says it has (stopped, or ready and serving), unless --detach.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from dockyard.cli.options import ApiUrl, RootKey, call, fail
from dockyard.cli.scope import Command

TIMEOUT = 120.0
POLL_SECONDS = 0.2
NOT_REACHED = (
    "asked, but {id} is {status}, not {wanted}, after {timeout:.0f}s; is the worker running?"
)

DeploymentArgument = Annotated[str, typer.Argument(help="The preview deployment's id (d_...).")]
Detach = Annotated[
    bool, typer.Option(help="Return once the request is accepted, without waiting for it.")
]


def wait_for_status(api_url: str, root_key: str, deployment_id: str, wanted: str) -> None:
    """Poll the deployment until its status is `wanted`; fail if it fails or takes too long."""
    deadline = time.monotonic() + TIMEOUT
    status = "unknown"
    while time.monotonic() < deadline:
        body = {"deploymentId": deployment_id}
        deployment = call(api_url, root_key, "deployments.getDeployment", body)
        status = deployment["status"]
        if status == wanted:
            return
        if status == "failed":
            reason = (deployment.get("error") or {}).get("message", "no reason recorded")
            fail(f"deployment {deployment_id} failed: {reason}")
        time.sleep(POLL_SECONDS)
    fail(NOT_REACHED.format(id=deployment_id, status=status, wanted=wanted, timeout=TIMEOUT))


def action(name: str, *, wanted: str, done: str, doc: str) -> Command:
    """The command that asks for deployments.<name>Deployment and waits for `wanted`."""

    def command(
        deployment_id: DeploymentArgument,
        detach: Detach = False,
        api_url: ApiUrl = "",
        root_key: RootKey = "",
    ) -> None:
        body = {"deploymentId": deployment_id}
        call(api_url, root_key, f"deployments.{name}Deployment", body)
        if detach:
            typer.echo(f"{deployment_id}: {name} requested")
            return
        wait_for_status(api_url, root_key, deployment_id, wanted)
        typer.echo(f"{deployment_id} {done}")

    command.__name__ = name
    command.__doc__ = doc
    return command


stop = action(
    "stop",
    wanted="stopped",
    done="stopped",
    doc="Stop a running preview deployment: its domains stop serving until `dockyard start`.",
)
start = action(
    "start",
    wanted="ready",
    done="is running and serves again",
    doc="Start a stopped preview deployment again, as it was created; its domains serve again.",
)
