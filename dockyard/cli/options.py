"""What every CLI command shares: the options that find the API, and how a command fails."""

from __future__ import annotations

import time
from typing import Annotated, Any, NoReturn

import typer

from dockyard.cli.client import CONNECTION_FILE, ApiClient, ApiError, api_url_of, root_key_of
from dockyard.payloads import deployment_workflow_id

NO_ROOT_KEY = (
    "no root key: set DOCKYARD_ROOT_KEY (or UNKEY_ROOT_KEY), or pass --root-key. "
    "`dockyard dev` prints one at its first start (and keeps it in "
    f"$DOCKYARD_HOME/{CONNECTION_FILE}); `dockyard root-keys create --local` makes "
    "the first one on the machine that runs dockyard."
)
NO_PROJECT = "no project: pass --project or set DOCKYARD_PROJECT (or UNKEY_PROJECT)"
NOT_LIVE = (
    "ready, but not live: production still serves an earlier deployment (after a rollback, "
    "new deployments wait to be promoted). `dockyard promote {id}` makes it live."
)

SAVED = f"what `dockyard dev` saved in $DOCKYARD_HOME/{CONNECTION_FILE}"
ApiUrl = Annotated[
    str,
    typer.Option(
        envvar="DOCKYARD_API_URL",
        show_default=False,
        help=f"Where the dockyard API listens. Default: {SAVED}, else http://127.0.0.1:8000.",
    ),
]
RootKey = Annotated[
    str,
    typer.Option(
        envvar=["DOCKYARD_ROOT_KEY", "UNKEY_ROOT_KEY"],
        show_default=False,
        help=f"Root key for the API. Default: {SAVED}.",
    ),
]
Project = Annotated[
    str,
    typer.Option(
        "--project",
        "-p",
        envvar=["DOCKYARD_PROJECT", "UNKEY_PROJECT"],
        show_default=False,
        help="Project slug or id.",
    ),
]
AppOption = Annotated[str, typer.Option("--app", "-a", help="App slug or id.")]
EnvOption = Annotated[str, typer.Option("--env", "-e", help="Environment slug or id.")]
EdgePort = Annotated[
    int | None,
    typer.Option(
        envvar="DOCKYARD_EDGE_PORT",
        show_default=False,
        help=f"The edge's HTTP port. Default: {SAVED}, else 8080.",
    ),
]
TemporalUi = Annotated[
    str,
    typer.Option(
        envvar="DOCKYARD_TEMPORAL_UI_URL",
        show_default=False,
        help=f"The Temporal Web UI's address. Default: {SAVED}, else http://127.0.0.1:8233.",
    ),
]
CURRENT_TIMEOUT = 120.0


def fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def client(api_url: str, root_key: str) -> ApiClient:
    key = root_key_of(root_key)
    if not key:
        fail(NO_ROOT_KEY)
    return ApiClient(api_url_of(api_url), key)


def call(api_url: str, root_key: str, operation: str, body: dict[str, Any]) -> Any:
    with client(api_url, root_key) as api:
        try:
            return api.call(operation, body)
        except ApiError as error:
            fail(error.message)


def workflow_url(temporal_ui: str, deployment_id: str, namespace: str = "default") -> str:
    """Where the Temporal Web UI shows this deployment's workflow."""
    workflow_id = deployment_workflow_id(deployment_id)
    return f"{temporal_ui.rstrip('/')}/namespaces/{namespace}/workflows/{workflow_id}"


def wait_until_current(api_url: str, root_key: str, deployment_id: str) -> None:
    """Rollback and promote are applied by the environment's workflow: wait to see it."""
    deadline = time.monotonic() + CURRENT_TIMEOUT
    while time.monotonic() < deadline:
        deployment = call(
            api_url, root_key, "deployments.getDeployment", {"deploymentId": deployment_id}
        )
        if deployment.get("isCurrent"):
            return
        if deployment["status"] == "failed":
            fail(f"deployment {deployment_id} failed to start: {deployment.get('error')}")
        time.sleep(0.2)
    fail(
        f"requested, but {deployment_id} is not live after {CURRENT_TIMEOUT:.0f}s; "
        "is the worker running?"
    )


def require_project(project: str) -> str:
    if not project:
        fail(NO_PROJECT)
    return project
