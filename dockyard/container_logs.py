"""What Docker says an app container printed, and how it exited, as runtime log lines.

Docker keeps each line with its own timestamp (`docker logs --timestamps`), one stream at
a time here so that each line knows whether it went to stdout or stderr.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import docker
from docker.models.containers import Container

from dockyard import runtime_logs
from dockyard.runtime import LABEL_DEPLOYMENT, LABEL_ENVIRONMENT, LABEL_REGION
from dockyard.runtime_logs import EXIT_STREAM, LogLine, Ranks

STREAMS = ("stdout", "stderr")
NEVER = "0001-01-01T00:00:00Z"  # Docker's FinishedAt of a container that never stopped


def follow(
    client: docker.DockerClient, container: Container, stream: str, since: float | None
) -> Any:
    """The container's raw lines from `since` on, as they come; close() ends them."""
    return client.api.logs(
        container.id,
        stdout=stream == "stdout",
        stderr=stream == "stderr",
        stream=True,
        follow=True,
        timestamps=True,
        since=since,
    )


def read(
    client: docker.DockerClient, container: Container, stream: str, since: float | None
) -> list[bytes]:
    """The container's raw lines from `since` to now."""
    raw = client.api.logs(
        container.id,
        stdout=stream == "stdout",
        stderr=stream == "stderr",
        timestamps=True,
        since=since,
    )
    return list(raw.splitlines(keepends=True))


def log_lines(container: Container, stream: str, chunks: Iterable[bytes]) -> Iterator[LogLine]:
    """Docker's raw lines of one stream, read from any point, as lines to store."""
    ranks = Ranks()
    for chunk in chunks:
        parsed = runtime_logs.split_docker_line(chunk)
        if parsed is not None:
            time_ns, message = parsed
            yield _line(container, stream, time_ns, ranks.next(time_ns), message)


def exit_line(container: Container, *, after_ns: int = 0) -> list[LogLine]:
    """The `exited with code N` line of a container that stopped; none while it runs.

    Docker stamps a log line when it reads it from the process, which can be after the
    process exited: the exit line is placed after `after_ns` (the container's last line)
    so it is always the last one shown."""
    container.reload()
    state = container.attrs.get("State") or {}
    finished = state.get("FinishedAt") or NEVER
    if state.get("Running") or finished.startswith(NEVER[:5]):
        return []
    code = int(state.get("ExitCode", 0))
    at = max(runtime_logs.docker_time_ns(finished), after_ns + 1)
    message = runtime_logs.exit_message(code)
    return [_line(container, EXIT_STREAM, at, 0, message, exit_code=code)]


def _line(
    container: Container,
    stream: str,
    time_ns: int,
    seq: int,
    message: str,
    *,
    exit_code: int | None = None,
) -> LogLine:
    labels = container.labels or {}
    return LogLine(
        deployment_id=labels[LABEL_DEPLOYMENT],
        environment_id=labels.get(LABEL_ENVIRONMENT, ""),
        region=labels.get(LABEL_REGION, ""),
        container_id=container.id or "",
        stream=stream,
        time_ns=time_ns,
        seq=seq,
        message=message,
        exit_code=exit_code,
    )
