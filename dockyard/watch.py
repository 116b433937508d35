"""Following a deployment from the terminal: each phase as it happens, then its domains."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dockyard.client import ApiClient

FINAL = frozenset({"ready", "failed", "skipped", "superseded", "cancelled", "stopped"})
POLL_SECONDS = 0.25


def follow(
    api: ApiClient,
    deployment_id: str,
    *,
    say: Callable[[str], None],
    timeout: float = 3600,
) -> dict[str, Any]:
    """Poll until the deployment is final, saying each new status once; return it."""
    started = time.monotonic()
    seen = ""
    while True:
        deployment: dict[str, Any] = api.call(
            "deployments.getDeployment", {"deploymentId": deployment_id}
        )
        status = deployment["status"]
        if status != seen:
            say(f"  {time.monotonic() - started:6.2f}s  {status}")
            seen = status
        if status in FINAL:
            return deployment
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"deployment {deployment_id} is still {status} after {timeout:.0f}s")
        time.sleep(POLL_SECONDS)


def step_lines(deployment: dict[str, Any]) -> list[str]:
    """One line per recorded step with how long it took."""
    lines = []
    for step in deployment.get("steps") or []:
        started, finished = step.get("startedAt"), step.get("finishedAt")
        took = f"{(finished - started) / 1000:.2f}s" if started and finished else "…"
        lines.append(f"  {step['name']:<11} {step['status']:<10} {took}")
    return lines


def domain_urls(deployment: dict[str, Any], edge_port: int) -> list[str]:
    port = "" if edge_port == 80 else f":{edge_port}"
    return [f"http://{host}{port}/" for host in deployment.get("domains") or []]
