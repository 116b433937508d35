"""Build logs: every line a build prints, in the database the moment it is printed.

A table rather than a Redis stream: the lines belong to the deployment's record (they are
deleted with it and survive any restart, while Redis here is an accelerator with no
persistence), the same query serves the API's cursor pages and a live stream's next
lines, and it works the same on SQLite and PostgreSQL. Readers follow a running build
by asking for the lines after the last id they saw.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.builder import BuildLine
from dockyard.models import BuildLogLine, now_ms

MAX_MESSAGE_CHARS = 8192
SOURCE_STEP_ID = "source"


def append(session: Session, deployment_id: str, lines: Sequence[BuildLine]) -> None:
    at = now_ms()
    session.add_all(
        BuildLogLine(
            deployment_id=deployment_id,
            time=at,
            step_id=line.step_id,
            step=line.step[:256],
            output=line.output,
            message=line.message[:MAX_MESSAGE_CHARS],
        )
        for line in lines
    )


def lines_after(
    session: Session,
    *,
    deployment_id: str,
    after_id: int = 0,
    limit: int = 100,
    step_id: str | None = None,
) -> list[BuildLogLine]:
    """Oldest first: the lines with an id above `after_id`, at most `limit` of them."""
    query = select(BuildLogLine).where(
        BuildLogLine.deployment_id == deployment_id, BuildLogLine.id > after_id
    )
    if step_id is not None:
        query = query.where(BuildLogLine.step_id == step_id)
    return list(session.scalars(query.order_by(BuildLogLine.id).limit(limit)))


def last_messages(session: Session, *, deployment_id: str, count: int) -> list[str]:
    """The build's last `count` lines, oldest first: what a failure message quotes."""
    rows = session.scalars(
        select(BuildLogLine.message)
        .where(BuildLogLine.deployment_id == deployment_id)
        .order_by(BuildLogLine.id.desc())
        .limit(count)
    )
    return list(reversed(list(rows)))
