"""Following a deployment from the terminal: each phase as it happens, then its domains,
and its build log, line by line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from dockyard.cli.client import ApiClient, ApiError

FINAL = frozenset({"ready", "failed", "skipped", "superseded", "cancelled", "stopped"})
POLL_SECONDS = 0.25


def follow(
    api: ApiClient,
    deployment_id: str,
    *,
    say: Callable[[str], None],
    timeout: float = 3600,
) -> dict[str, Any]:
    """Poll until the deployment is final, saying each phase it entered once, in order, and
    then its final status; return it. A phase that began and ended between two polls is
    said too: the steps the deployment recorded tell every phase it passed through."""
    started = time.monotonic()
    said: set[str] = set()
    while True:
        deployment: dict[str, Any] = api.call(
            "deployments.getDeployment", {"deploymentId": deployment_id}
        )
        for name, seconds in phases(deployment):
            if name not in said:
                say(f"  {seconds:6.2f}s  {name}")
                said.add(name)
        status = deployment["status"]
        if status in FINAL:
            return deployment
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"deployment {deployment_id} is still {status} after {timeout:.0f}s")
        time.sleep(POLL_SECONDS)


def phases(deployment: dict[str, Any]) -> list[tuple[str, float]]:
    """Each phase the deployment entered so far (not those it skipped), then its final
    status once it has one, with the seconds from its creation to when it began."""
    created = deployment["createdAt"]
    entered = [
        (step["name"], step["startedAt"])
        for step in deployment.get("steps") or []
        if step["status"] != "skipped"
    ]
    if deployment["status"] in FINAL:
        ended = deployment.get("finishedAt") or deployment.get("updatedAt") or created
        entered.append((deployment["status"], ended))
    # The API and the worker stamp these: a phase may begin a millisecond "before" creation.
    return [(name, max(at - created, 0) / 1000) for name, at in entered]


def step_lines(deployment: dict[str, Any]) -> list[str]:
    """One line per recorded step with how long it took; a skipped step says why instead."""
    lines = []
    for step in deployment.get("steps") or []:
        if step["status"] == "skipped":
            lines.append(f"  {step['name']:<11} skipped    {step.get('message') or ''}".rstrip())
            continue
        started, finished = step.get("startedAt"), step.get("finishedAt")
        # Start and end are stamped by different processes: a step of no length may end
        # a millisecond "before" it started.
        took = f"{max(finished - started, 0) / 1000:.2f}s" if started and finished else "…"
        lines.append(f"  {step['name']:<11} {step['status']:<10} {took}")
    return lines


def domain_urls(deployment: dict[str, Any], edge_port: int) -> list[str]:
    port = "" if edge_port == 80 else f":{edge_port}"
    return [f"http://{host}{port}/" for host in deployment.get("domains") or []]


def build_log(api: ApiClient, deployment_id: str) -> Iterator[str]:
    """Every line of the build log written so far, page by page."""
    body: dict[str, Any] = {"deploymentId": deployment_id, "limit": 100}
    while True:
        page = api.call_page("deployments.listBuildLogs", body)
        for entry in page.get("data") or []:
            yield str(entry["message"])
        cursor = (page.get("pagination") or {}).get("cursor")
        if not cursor:
            return
        body["cursor"] = cursor


RECONNECTS = 5


def follow_build_log(api: ApiClient, deployment_id: str, *, say: Callable[[str], None]) -> str:
    """Say each build log line as it is written; the deployment's status once the build is
    over. A dropped connection is resumed after the last line seen."""
    last_id: str | None = None
    for attempt in range(RECONNECTS + 1):
        try:
            for event in api.events(
                f"/v2/deployments/{deployment_id}/buildLogs/stream", last_event_id=last_id
            ):
                if event.name == "log":
                    last_id = event.id or last_id
                    say(str(json.loads(event.data)["message"]))
                elif event.name == "end":
                    return str(json.loads(event.data)["status"])
        except ApiError as error:
            if error.status or attempt == RECONNECTS:
                raise
        time.sleep(min(2**attempt * 0.25, 4))
    raise ApiError(0, f"lost the build log of {deployment_id}")
