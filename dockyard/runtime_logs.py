"""Runtime logs: what each app instance prints, kept in the database for a bounded time.

The region worker captures them (dockyard.log_capture); the API and the CLI read them
here. Lines carry Docker's own timestamp, in nanoseconds, so a capture that restarts can
ask Docker for everything since the last line it stored and recognise the lines it has.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dockyard.models import Deployment, RuntimeLogLine

MAX_MESSAGE_CHARS = 8192
EXIT_STREAM = "event"
NS_PER_MS = 1_000_000
# A resumed read starts this much before the last stored line: Docker takes `since` as a
# float of seconds, which cannot hold every nanosecond. Lines read twice are recognised.
RESUME_MARGIN_NS = NS_PER_MS
# Docker's timestamps: RFC 3339 with up to nine digits of fraction.
DOCKER_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
BAD_SINCE = (
    "{value!r} is not a duration or a time: use a number and a unit (30s, 10m, 2h, 7d) "
    "or an ISO 8601 time such as 2026-12-06T10:00:00Z"
)


@dataclass(frozen=True)
class LogLine:
    """One captured line, as it will be stored."""

    deployment_id: str
    environment_id: str
    region: str
    container_id: str
    stream: str
    time_ns: int
    seq: int
    message: str
    exit_code: int | None = None


def docker_time_ns(stamp: str) -> int:
    """Nanoseconds since the epoch of a Docker timestamp (`2026-12-06T21:01:04.123456789Z`)."""
    match = DOCKER_TIME.match(stamp)
    if match is None:
        raise ValueError(f"{stamp!r} is not a Docker timestamp")
    whole, fraction, zone = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def split_docker_line(raw: bytes) -> tuple[int, str] | None:
    """A line of `docker logs --timestamps`: its time and message; None when it has no time."""
    text = raw.decode(errors="replace")
    stamp, _, message = text.partition(" ")
    try:
        time_ns = docker_time_ns(stamp)
    except ValueError:
        return None
    return time_ns, message.rstrip("\r\n")[:MAX_MESSAGE_CHARS]


class Ranks:
    """Numbers the lines of one stream that share a timestamp, in the order read."""

    def __init__(self) -> None:
        self._time_ns = -1
        self._seq = 0

    def next(self, time_ns: int) -> int:
        if time_ns == self._time_ns:
            self._seq += 1
        else:
            self._time_ns, self._seq = time_ns, 0
        return self._seq


def resume_since(last_time_ns: int | None) -> float | None:
    """Docker's `since` for a stream whose last stored line has this time (None: all)."""
    if last_time_ns is None:
        return None
    return max(last_time_ns - RESUME_MARGIN_NS, 1) / 1e9


def retention_cutoff_ns(now: datetime, retention: timedelta) -> int:
    """Lines older than this (nanoseconds since the epoch) are past retention."""
    return int((now - retention).timestamp()) * 1_000_000_000


def parse_since(value: str, now: datetime) -> datetime:
    """`10m`, `2h`, `7d` before now, or an ISO 8601 time; ValueError with the fix."""
    text = value.strip()
    match = DURATION.match(text)
    if match is not None:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(BAD_SINCE.format(value=value)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exit_message(exit_code: int) -> str:
    return f"exited with code {exit_code}"


def append(session: Session, lines: Sequence[LogLine], *, chunk: int = 200) -> None:
    """Store lines; those already stored (same container, stream, time and rank) are skipped."""
    rows = [
        {
            "deployment_id": line.deployment_id,
            "environment_id": line.environment_id,
            "region": line.region,
            "container_id": line.container_id,
            "stream": line.stream,
            "time_ns": line.time_ns,
            "seq": line.seq,
            "message": line.message[:MAX_MESSAGE_CHARS],
            "exit_code": line.exit_code,
        }
        for line in lines
    ]
    for start in range(0, len(rows), chunk):
        statement = _insert(session).values(rows[start : start + chunk])
        session.execute(statement.on_conflict_do_nothing())


def last_time_ns(session: Session, *, container_id: str, stream: str) -> int | None:
    """The time of the newest stored line of a container's stream."""
    return session.scalar(
        select(func.max(RuntimeLogLine.time_ns)).where(
            RuntimeLogLine.container_id == container_id, RuntimeLogLine.stream == stream
        )
    )


def lines_between(
    session: Session,
    *,
    deployment_id: str,
    start_ns: int,
    end_ns: int,
    after: tuple[int, int] | None = None,
    region: str | None = None,
    limit: int = 100,
) -> list[RuntimeLogLine]:
    """Oldest first: the deployment's lines in [start, end], after the (time, id) `after`."""
    query = select(RuntimeLogLine).where(
        RuntimeLogLine.deployment_id == deployment_id,
        RuntimeLogLine.time_ns >= start_ns,
        RuntimeLogLine.time_ns <= end_ns,
    )
    if after is not None:
        time_ns, row_id = after
        query = query.where(
            (RuntimeLogLine.time_ns > time_ns)
            | ((RuntimeLogLine.time_ns == time_ns) & (RuntimeLogLine.id > row_id))
        )
    if region is not None:
        query = query.where(RuntimeLogLine.region == region)
    order = (RuntimeLogLine.time_ns, RuntimeLogLine.id)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def prune(session: Session, *, cutoff_ns: int, max_lines: int) -> int:
    """Delete lines older than the cutoff, and each deployment's lines beyond the newest
    `max_lines`; how many went."""
    removed = session.execute(delete(RuntimeLogLine).where(RuntimeLogLine.time_ns < cutoff_ns))
    count = int(getattr(removed, "rowcount", 0) or 0)
    crowded = session.scalars(
        select(RuntimeLogLine.deployment_id)
        .group_by(RuntimeLogLine.deployment_id)
        .having(func.count() > max_lines)
    ).all()
    for deployment_id in crowded:
        oldest_kept = session.execute(
            select(RuntimeLogLine.time_ns, RuntimeLogLine.id)
            .where(RuntimeLogLine.deployment_id == deployment_id)
            .order_by(RuntimeLogLine.time_ns.desc(), RuntimeLogLine.id.desc())
            .offset(max_lines - 1)
            .limit(1)
        ).one()
        removed = session.execute(
            delete(RuntimeLogLine).where(
                RuntimeLogLine.deployment_id == deployment_id,
                (RuntimeLogLine.time_ns < oldest_kept.time_ns)
                | (
                    (RuntimeLogLine.time_ns == oldest_kept.time_ns)
                    & (RuntimeLogLine.id < oldest_kept.id)
                ),
            )
        )
        count += int(getattr(removed, "rowcount", 0) or 0)
    return count


class TooManyLines(Exception):
    """A window holds more lines than one query may read."""


def analytics_rows(
    session: Session,
    *,
    workspace_id: str,
    project_ids: frozenset[str] | None,
    start_ms: int,
    end_ms: int,
    most: int,
) -> list[tuple[object, ...]]:
    """The workspace's lines in [start, end) as rows of `runtime_logs_v1`
    (dockyard.analytics.records.RUNTIME_LOGS); TooManyLines past `most`."""
    query = (
        select(
            RuntimeLogLine.time_ns,
            Deployment.workspace_id,
            Deployment.project_id,
            Deployment.app_id,
            RuntimeLogLine.environment_id,
            RuntimeLogLine.deployment_id,
            RuntimeLogLine.region,
            RuntimeLogLine.container_id,
            RuntimeLogLine.stream,
            RuntimeLogLine.message,
            RuntimeLogLine.exit_code,
        )
        .join(Deployment, Deployment.id == RuntimeLogLine.deployment_id)
        .where(
            Deployment.workspace_id == workspace_id,
            RuntimeLogLine.time_ns >= start_ms * NS_PER_MS,
            RuntimeLogLine.time_ns < end_ms * NS_PER_MS,
        )
        .limit(most + 1)
    )
    if project_ids is not None:
        query = query.where(Deployment.project_id.in_(sorted(project_ids)))
    found = session.execute(query).all()
    if len(found) > most:
        raise TooManyLines
    return [
        (time_ns // NS_PER_MS, workspace, project, app, environment, deployment, region,
         container, stream, _severity(stream, exit_code), message, exit_code)
        for (time_ns, workspace, project, app, environment, deployment, region, container,
             stream, message, exit_code) in found
    ]  # fmt: skip


def _severity(stream: str, exit_code: int | None) -> str:
    failed = stream == "stderr" or (stream == EXIT_STREAM and exit_code not in (None, 0))
    return "error" if failed else "info"


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(RuntimeLogLine)
    return sqlite.insert(RuntimeLogLine)
