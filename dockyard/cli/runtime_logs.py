"""`dockyard logs <deployment> --runtime`: what the deployment's app printed, from
deployments.getRuntimeLogs, and with --follow what it prints next."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import typer

from dockyard import runtime_logs
from dockyard.cli.client import ApiClient, ApiError
from dockyard.cli.options import client, fail

# The API reads at most this much of a deployment's log per window.
MAX_WINDOW_MS = 7 * 24 * 3600 * 1000 - 60_000
POLL_SECONDS = 1.0
# Lines may be stored a little after the lines that follow them (another stream, another
# instance): a follow reads this far back again, and prints only what it has not shown.
OVERLAP_MS = 10_000
# While the deployment is in one of these, its instances may still print.
NOT_RUNNING = frozenset({"failed", "stopped", "cancelled", "skipped"})

Entry = dict[str, Any]


def runtime_log(
    api: ApiClient, deployment_id: str, *, start_ms: int, end_ms: int, region: str | None
) -> Iterator[Entry]:
    """Every line in the window, oldest first, page by page."""
    body: dict[str, Any] = {
        "deploymentId": deployment_id,
        "startTime": start_ms,
        "endTime": end_ms,
        "limit": 1000,
    }
    if region:
        body["region"] = region
    while True:
        page = api.call_page("deployments.getRuntimeLogs", body)
        yield from page.get("data") or []
        cursor = (page.get("pagination") or {}).get("cursor")
        if not cursor:
            return
        body["cursor"] = cursor


def follow_runtime_log(
    api: ApiClient,
    deployment_id: str,
    *,
    start_ms: int,
    region: str | None,
    say: Callable[[str], None],
    now_ms: Callable[[], int],
    pause: float = POLL_SECONDS,
) -> str:
    """Say each line as it is stored, until the deployment no longer runs; its status."""
    shown: Counter[tuple[Any, ...]] = Counter()
    since = start_ms
    while True:
        status = str(
            api.call("deployments.getDeployment", {"deploymentId": deployment_id})["status"]
        )
        until = now_ms()
        read: Counter[tuple[Any, ...]] = Counter()
        for entry in runtime_log(api, deployment_id, start_ms=since, end_ms=until, region=region):
            key = _key(entry)
            read[key] += 1
            if read[key] > shown[key]:
                shown[key] += 1
                say(line_of(entry))
        # Only what the next read covers again needs remembering.
        since = max(start_ms, until - OVERLAP_MS)
        shown = Counter({key: count for key, count in shown.items() if key[0] >= since})
        if status in NOT_RUNNING:
            return status
        time.sleep(pause)


def start_of(deployment: dict[str, Any], since: datetime | None, now_ms: int) -> int:
    """Where the log starts: --since, else the deployment's creation; at most 7 days back."""
    wanted = int(since.timestamp() * 1000) if since else int(deployment["createdAt"])
    return max(wanted, now_ms - MAX_WINDOW_MS, 0)


def line_of(entry: Entry) -> str:
    at = datetime.fromtimestamp(entry["time"] / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    where = f"{entry['region']} {entry['instanceId']}"
    if entry["stream"] == "event":
        return f"{at}Z {where} ── {entry['message']}"
    return f"{at}Z {where} {entry['stream']:<6} {entry['message']}"


def _key(entry: Entry) -> tuple[Any, ...]:
    return (entry["time"], entry["region"], entry["instanceId"], entry["stream"], entry["message"])


def show_runtime_log(
    api_url: str, root_key: str, deployment_id: str, *, follow: bool, since: str, region: str
) -> None:
    """The `logs --runtime` command: print the lines, or follow them until the app stops."""
    now = datetime.now(UTC)
    try:
        since_at = runtime_logs.parse_since(since, now) if since else None
    except ValueError as error:
        fail(f"--since {error}")
    with client(api_url, root_key) as api:
        try:
            deployment = api.call("deployments.getDeployment", {"deploymentId": deployment_id})
            start = start_of(deployment, since_at, int(now.timestamp() * 1000))
            if follow:
                status = follow_runtime_log(
                    api,
                    deployment_id,
                    start_ms=start,
                    region=region or None,
                    say=typer.echo,
                    now_ms=lambda: int(time.time() * 1000),
                )
                typer.secho(f"deployment {deployment_id} is {status}", err=True)
                return
            end = int(time.time() * 1000)
            for entry in runtime_log(
                api, deployment_id, start_ms=start, end_ms=end, region=region or None
            ):
                typer.echo(line_of(entry))
        except ApiError as error:
            fail(error.message)
        except KeyboardInterrupt:
            return
