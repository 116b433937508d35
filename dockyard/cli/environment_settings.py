"""`dockyard envs settings`: how an environment's deployments build and run.

Most settings are frozen into each deployment when it is created, so a change reaches the
next deployment. Three are read later, so they apply at once: auto-deploy and watch-paths
at each push, and wake-on-request by the edge at each request to a stopped preview.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any

import typer

from dockyard.cli.client import ApiError
from dockyard.cli.options import client, fail
from dockyard.cli.scope import Environment
from dockyard.cli.settings_view import aligned, sentence, shown, when_it_applies

MEMORY = re.compile(r"(\d+)\s*(m|mb|mi|mib|g|gb|gi|gib)?", re.IGNORECASE)
BAD_MEMORY = "{flag} takes MiB, or a size such as 512M or 2G, not {value!r}"
BAD_COMMAND = "--command is not a command line: {reason}"
NO_REGIONS = "--regions needs at least one region name, e.g. --regions local"
NEEDS_PATH = "there is no healthcheck yet: add --healthcheck-path to start one"
CLEAR_CONFLICT = "{clear} clears what {other} sets: give one of them"
CLEAR = object()  # a change sent as null: the API clears the field

Dockerfile = Annotated[
    str | None, typer.Option(help="The Dockerfile to build, relative to the root directory.")
]
RootDirectory = Annotated[
    str | None, typer.Option(help="Where in the repository builds start, e.g. services/api.")
]
WatchPath = Annotated[
    list[str] | None,
    typer.Option(
        "--watch-path",
        help="A glob such as `src/**`: a push deploys only when it changes a watched file. "
        "Repeat it for more; together they replace the current ones.",
    ),
]
NoWatchPaths = Annotated[
    bool, typer.Option("--no-watch-paths", help="Drop the watch paths: every push deploys.")
]
AutoDeploy = Annotated[
    bool | None,
    typer.Option(
        "--auto-deploy/--no-auto-deploy", help="Whether a push to the repository deploys."
    ),
]
Port = Annotated[int | None, typer.Option(help="The port the app listens on.")]
Cpus = Annotated[float | None, typer.Option(help="vCPUs per instance, in steps of 0.25.")]
Memory = Annotated[
    str | None, typer.Option(help="Memory per instance: MiB, a multiple of 256 (or 1G, 2G).")
]
CommandLine = Annotated[
    str | None,
    typer.Option(
        "--command",
        help="What instances run instead of the image's command: one shell line; "
        "'' for the image's own.",
    ),
]
ProbePath = Annotated[
    str | None,
    typer.Option("--healthcheck-path", help="Probe this path, e.g. /healthz, until it answers."),
]
ProbeMethod = Annotated[
    str | None, typer.Option("--healthcheck-method", help="GET or POST (new healthchecks: GET).")
]
ProbeInterval = Annotated[
    int | None, typer.Option("--healthcheck-interval", help="Seconds between probes.")
]
ProbeTimeout = Annotated[
    int | None, typer.Option("--healthcheck-timeout", help="Seconds a probe may take.")
]
ProbeFailures = Annotated[
    int | None,
    typer.Option("--healthcheck-failures", help="Failed probes in a row that mean unhealthy."),
]
ProbeDelay = Annotated[
    int | None, typer.Option("--healthcheck-delay", help="Seconds before the first probe.")
]
NoHealthcheck = Annotated[
    bool, typer.Option("--no-healthcheck", help="Remove the healthcheck: nothing is probed.")
]
ShutdownSignal = Annotated[
    str | None, typer.Option(help="What stops an instance: SIGTERM, SIGINT, SIGQUIT or SIGKILL.")
]
UpstreamProtocol = Annotated[
    str | None, typer.Option(help="How the edge speaks to the app: http1 or h2c.")
]
OpenapiSpecPath = Annotated[
    str | None, typer.Option(help="Where the app serves its OpenAPI document: /openapi.json.")
]
NoOpenapiSpecPath = Annotated[
    bool, typer.Option("--no-openapi-spec-path", help="Drop the OpenAPI document's path.")
]
Regions = Annotated[
    str | None,
    typer.Option(
        help="Regions to run in, comma-separated: eu,us. A region already listed keeps its "
        "replicas; a new one gets --replicas, else 1.",
    ),
]
Replicas = Annotated[
    int | None,
    typer.Option(
        help="Instances in each region. dockyard runs exactly this many (replicas.min and "
        ".max both): it does not autoscale.",
    ),
]
WakeOnRequest = Annotated[
    bool | None,
    typer.Option(
        "--wake-on-request/--no-wake-on-request",
        help="Whether a request to a stopped preview deployment starts it (previews only).",
    ),
]


def settings(
    environment: Environment,
    dockerfile: Dockerfile = None,
    root_directory: RootDirectory = None,
    watch_path: WatchPath = None,
    no_watch_paths: NoWatchPaths = False,
    auto_deploy: AutoDeploy = None,
    port: Port = None,
    cpus: Cpus = None,
    memory: Memory = None,
    command: CommandLine = None,
    healthcheck_path: ProbePath = None,
    healthcheck_method: ProbeMethod = None,
    healthcheck_interval: ProbeInterval = None,
    healthcheck_timeout: ProbeTimeout = None,
    healthcheck_failures: ProbeFailures = None,
    healthcheck_delay: ProbeDelay = None,
    no_healthcheck: NoHealthcheck = False,
    shutdown_signal: ShutdownSignal = None,
    upstream_protocol: UpstreamProtocol = None,
    openapi_spec_path: OpenapiSpecPath = None,
    no_openapi_spec_path: NoOpenapiSpecPath = False,
    regions: Regions = None,
    replicas: Replicas = None,
    wake_on_request: WakeOnRequest = None,
) -> None:
    """Show an environment's settings; with options, change only those, all at once or none.

    Settings are frozen into each deployment when it is created: a change reaches the next
    deployment. auto-deploy and watch paths are read at each push, and wake-on-request at
    each request to a stopped preview, so those apply at once.
    """
    current = environment.call("environments.getEnvironment")
    changes: dict[str, Any] = {
        "dockerfile": dockerfile,
        "rootDirectory": root_directory,
        "watchPaths": _cleared_or(no_watch_paths, "--no-watch-paths", watch_path, "--watch-path"),
        "autoDeploy": auto_deploy,
        "port": port,
        "vCpus": cpus,
        "memoryMib": _mib(memory, "--memory"),
        "command": _command(command),
        "shutdownSignal": shutdown_signal,
        "upstreamProtocol": upstream_protocol,
        "openapiSpecPath": _cleared_or(
            no_openapi_spec_path, "--no-openapi-spec-path", openapi_spec_path, "--openapi-spec-path"
        ),
        "regions": _regions(current["regions"], regions, replicas),
        "wakeOnRequest": wake_on_request,
    }
    check = {
        "method": healthcheck_method,
        "path": healthcheck_path,
        "intervalSeconds": healthcheck_interval,
        "timeoutSeconds": healthcheck_timeout,
        "failureThreshold": healthcheck_failures,
        "initialDelaySeconds": healthcheck_delay,
    }
    if no_healthcheck and any(value is not None for value in check.values()):
        fail(CLEAR_CONFLICT.format(clear="--no-healthcheck", other="--healthcheck-*"))
    changes["healthcheck"] = CLEAR if no_healthcheck else _healthcheck(current["runtime"], check)
    given = {name: value for name, value in changes.items() if value is not None}
    if given:
        _update(environment, {name: None if v is CLEAR else v for name, v in given.items()})
        current = environment.call("environments.getEnvironment")
    for line in aligned(shown(environment, current)):
        typer.echo(line)
    if given:
        typer.echo(when_it_applies(given))


def _cleared_or(clear: bool, clear_flag: str, value: Any, flag: str) -> Any:
    if clear and value is not None:
        fail(CLEAR_CONFLICT.format(clear=clear_flag, other=flag))
    if clear:
        return [] if flag == "--watch-path" else CLEAR
    return value


def _mib(size: str | None, flag: str) -> int | None:
    """512, 512M and 512MiB are 512 MiB; 2G is 2048. The API checks the range."""
    if size is None:
        return None
    match = MEMORY.fullmatch(size.strip())
    if match is None:
        fail(BAD_MEMORY.format(flag=flag, value=size))
    number, unit = int(match[1]), (match[2] or "m").lower()
    return number * 1024 if unit.startswith("g") else number


def _command(line: str | None) -> list[str] | None:
    if line is None:
        return None
    try:
        return shlex.split(line)
    except ValueError as error:
        fail(BAD_COMMAND.format(reason=error))


def _regions(
    current: list[dict[str, Any]], names: str | None, replicas: int | None
) -> list[dict[str, Any]] | None:
    """The regions to send: named ones, or the current ones with a new replica count."""
    if names is None and replicas is None:
        return None
    had = {region["name"]: region["replicas"]["max"] for region in current}
    chosen = list(had) if names is None else [n.strip() for n in names.split(",") if n.strip()]
    if not chosen:
        fail(NO_REGIONS)
    counts = {name: replicas if replicas is not None else had.get(name, 1) for name in chosen}
    return [{"name": name, "replicas": {"min": n, "max": n}} for name, n in counts.items()]


def _healthcheck(runtime: dict[str, Any], given: dict[str, Any]) -> dict[str, Any] | None:
    """The whole healthcheck, the options given laid over the current one (the API
    replaces it whole); None when no healthcheck option is given."""
    changed = {name: value for name, value in given.items() if value is not None}
    current = runtime.get("healthcheck")
    if not changed:
        return None
    if current is None and "path" not in changed:
        fail(NEEDS_PATH)
    return {"method": "GET", **(current or {}), **changed}


def _update(environment: Environment, changes: dict[str, Any]) -> None:
    """One updateSettings call: the API applies every change or, refusing one, none."""
    with client(environment.api_url, environment.root_key) as api:
        try:
            api.call("environments.updateSettings", {**environment.body(), **changes})
        except ApiError as error:
            fail(sentence(error) if error.status == 400 else error.message)
