"""How `dockyard envs settings` words an environment's settings: the listing, when a
change applies, and the API's refusals in the flags' own words."""

from __future__ import annotations

import re
import shlex
from typing import Any

from dockyard.cli.client import ApiError
from dockyard.cli.listing import NONE
from dockyard.cli.scope import Environment

FROZEN = "deployments created from now on run with {names}; deploy again to use them"
AT_PUSH = "the next push follows the new {names}"
AT_ONCE = "wake-on-request applies at once, from the next request to a stopped preview"
# Where the API names a field, the flag that sets it (`body.regions[0].replicas.max`
# is --replicas); the whole field's flag when a part has none of its own.
FLAGS = {
    "dockerfile": "--dockerfile",
    "rootDirectory": "--root-directory",
    "watchPaths": "--watch-path",
    "autoDeploy": "--auto-deploy",
    "port": "--port",
    "vCpus": "--cpus",
    "memoryMib": "--memory",
    "command": "--command",
    "healthcheck": "--healthcheck-path",
    "healthcheck.method": "--healthcheck-method",
    "healthcheck.intervalSeconds": "--healthcheck-interval",
    "healthcheck.timeoutSeconds": "--healthcheck-timeout",
    "healthcheck.failureThreshold": "--healthcheck-failures",
    "healthcheck.initialDelaySeconds": "--healthcheck-delay",
    "shutdownSignal": "--shutdown-signal",
    "upstreamProtocol": "--upstream-protocol",
    "openapiSpecPath": "--openapi-spec-path",
    "regions": "--regions",
    "regions.replicas": "--replicas",
    "wakeOnRequest": "--wake-on-request",
}
FIELD_LIST = re.compile(r"; body\b")
LOCATION = re.compile(r"body\.(\w+)(?:\[\d+\])?(?:\.(\w+))?[\w.\[\]]*:? ")
READ_AT_PUSH = {"autoDeploy": "auto-deploy", "watchPaths": "watch-paths"}


def sentence(error: ApiError) -> str:
    """The API's own sentence, with its field named by the flag that sets it.

    The client joins the API's detail, the fields it does not name and the API's fix
    with `; `: keep the detail and the fix, which say it in the flags' words.
    """
    detail = FIELD_LIST.split(error.message, maxsplit=1)[0]

    def flag(match: re.Match[str]) -> str:
        field, part = match[1], match[2]
        return f"{FLAGS.get(f'{field}.{part}') or FLAGS.get(field) or field}: "

    worded = LOCATION.sub(flag, detail, count=1)
    for field, name in FLAGS.items():  # the API's fix names fields (`wakeOnRequest`)
        if field != field.lower() and "." not in field:
            worded = re.sub(rf"\b{re.escape(field)}\b", name, worded)
    return worded


def shown(environment: Environment, current: dict[str, Any]) -> list[tuple[str, str]]:
    runtime, build = current["runtime"], current["build"]
    kind = current["kind"]
    return [
        ("environment", f"{environment.project}/{environment.app}/{current['slug']} ({kind})"),
        ("dockerfile", build.get("dockerfile") or NONE),
        ("root-directory", build.get("rootDirectory") or NONE),
        ("watch-paths", ", ".join(build.get("watchPaths") or []) or NONE),
        ("auto-deploy", _on(build.get("autoDeploy"))),
        ("port", str(runtime["port"])),
        ("command", shlex.join(runtime.get("command") or []) or NONE),
        ("cpus", f"{runtime['vCpus']:g}"),
        ("memory", f"{runtime['memoryMib']} MiB"),
        ("healthcheck", _probe(runtime.get("healthcheck"))),
        ("regions", ", ".join(_region(region) for region in current["regions"]) or NONE),
        ("shutdown-signal", runtime.get("shutdownSignal") or NONE),
        ("upstream-protocol", runtime.get("upstreamProtocol") or NONE),
        ("openapi-spec-path", runtime.get("openapiSpecPath") or NONE),
        (
            "wake-on-request",
            f"{NONE} (production keeps standbys warm)"
            if kind == "production"
            else _on(current.get("wakeOnRequest")),
        ),
    ]


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"{name.ljust(width)}  {value}" for name, value in rows]


def _on(value: bool | None) -> str:
    return NONE if value is None else ("on" if value else "off")


def _probe(check: dict[str, Any] | None) -> str:
    if not check:
        return NONE
    return (
        f"{check['method']} {check['path']} every {check['intervalSeconds']}s, "
        f"timeout {check['timeoutSeconds']}s, unhealthy after {check['failureThreshold']} "
        f"failures, first after {check['initialDelaySeconds']}s"
    )


def _region(region: dict[str, Any]) -> str:
    count = region["replicas"]["max"]
    return f"{region['name']} ({count} replica{'' if count == 1 else 's'})"


def when_it_applies(changes: dict[str, Any]) -> str:
    """One line: which changes wait for a deployment, which for a push, which for nothing."""
    frozen = [_listed(f) for f in changes if f not in READ_AT_PUSH and f != "wakeOnRequest"]
    at_push = [READ_AT_PUSH[field] for field in changes if field in READ_AT_PUSH]
    parts = [FROZEN.format(names=", ".join(frozen))] if frozen else []
    if at_push:
        parts.append(AT_PUSH.format(names=" and ".join(at_push)))
    if "wakeOnRequest" in changes:
        parts.append(AT_ONCE)
    return "; ".join(parts)


def _listed(field: str) -> str:
    """What the settings listing calls a field: `memoryMib` is memory."""
    return "healthcheck" if field == "healthcheck" else FLAGS[field].removeprefix("--")
