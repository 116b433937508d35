"""Runtime log lines: Docker's timestamps, resume points, retention and reading windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dockyard import runtime_logs
from dockyard.models import RuntimeLogLine
from dockyard.runtime_logs import LogLine, Ranks
from tests.runtime_apps import new_deployment

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
SECOND = 1_000_000_000


def test_docker_timestamps_keep_every_nanosecond() -> None:
    assert runtime_logs.docker_time_ns("2026-12-06T21:00:00.000000001Z") == (
        int(NOW.timestamp()) * SECOND + 1
    )
    assert runtime_logs.docker_time_ns("2026-12-06T21:00:00Z") == int(NOW.timestamp()) * SECOND
    assert runtime_logs.docker_time_ns("2026-12-06T22:00:00.5+01:00") == (
        int(NOW.timestamp()) * SECOND + SECOND // 2
    )
    with pytest.raises(ValueError):
        runtime_logs.docker_time_ns("yesterday")


def test_a_docker_line_splits_into_time_and_message() -> None:
    line = b"2026-12-06T21:00:00.000000002Z line 1 of 3\n"
    assert runtime_logs.split_docker_line(line) == (
        int(NOW.timestamp()) * SECOND + 2,
        "line 1 of 3",
    )
    assert runtime_logs.split_docker_line(b"no timestamp here\n") is None


def test_lines_of_one_timestamp_are_ranked_in_order() -> None:
    ranks = Ranks()
    assert [ranks.next(t) for t in (5, 5, 5, 6, 7, 7)] == [0, 1, 2, 0, 0, 1]


def test_a_resumed_read_starts_just_before_the_last_stored_line() -> None:
    assert runtime_logs.resume_since(None) is None
    last = int(NOW.timestamp()) * SECOND + 123_456_789
    since = runtime_logs.resume_since(last)
    assert since is not None
    assert since * 1e9 < last
    assert last - since * 1e9 < 2 * runtime_logs.RESUME_MARGIN_NS


def test_retention_cuts_off_at_now_minus_the_retention() -> None:
    cutoff = runtime_logs.retention_cutoff_ns(NOW, timedelta(days=7))
    assert cutoff == int((NOW - timedelta(days=7)).timestamp()) * SECOND


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", NOW - timedelta(minutes=10)),
        ("30s", NOW - timedelta(seconds=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-12-06T10:00:00Z", datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ("2026-12-06T10:00:00", datetime(2026, 12, 6, 10, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_or_a_time(text: str, expected: datetime) -> None:
    assert runtime_logs.parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["10", "ten minutes", "-5m", "5w", ""])
def test_since_refuses_anything_else_with_the_fix(text: str) -> None:
    with pytest.raises(ValueError, match="30s, 10m, 2h, 7d"):
        runtime_logs.parse_since(text, NOW)


def lines(deployment_id: str, times: list[int], stream: str = "stdout") -> list[LogLine]:
    ranks = Ranks()
    return [
        LogLine(
            deployment_id=deployment_id,
            environment_id="env_1",
            region="local",
            container_id="c1",
            stream=stream,
            time_ns=time_ns,
            seq=ranks.next(time_ns),
            message=f"line {index}",
        )
        for index, time_ns in enumerate(times)
    ]


def test_lines_read_twice_are_stored_once(sessions: sessionmaker[Session]) -> None:
    deployment_id = new_deployment(sessions)
    first = lines(deployment_id, [10, 20, 20, 30])
    with sessions.begin() as session:
        runtime_logs.append(session, first[:3])
    # Read again from just before the last stored line: the boundary comes twice.
    again = lines(deployment_id, [10, 20, 20, 30])
    with sessions.begin() as session:
        runtime_logs.append(session, again[1:])
        stored = runtime_logs.lines_between(
            session, deployment_id=deployment_id, start_ns=0, end_ns=100
        )
        last = runtime_logs.last_time_ns(session, container_id="c1", stream="stdout")
    assert [line.message for line in stored] == ["line 0", "line 1", "line 2", "line 3"]
    assert last == 30


def test_reading_pages_by_time_then_id(sessions: sessionmaker[Session]) -> None:
    deployment_id = new_deployment(sessions)
    with sessions.begin() as session:
        runtime_logs.append(session, lines(deployment_id, [10, 20, 20, 30, 40]))
        page = runtime_logs.lines_between(
            session, deployment_id=deployment_id, start_ns=15, end_ns=35, limit=2
        )
        rest = runtime_logs.lines_between(
            session,
            deployment_id=deployment_id,
            start_ns=15,
            end_ns=35,
            after=(page[-1].time_ns, page[-1].id),
        )
    assert [line.message for line in page] == ["line 1", "line 2"]
    assert [line.message for line in rest] == ["line 3"]


def test_prune_drops_old_lines_and_keeps_the_newest_per_deployment(
    sessions: sessionmaker[Session],
) -> None:
    deployment_id = new_deployment(sessions)
    with sessions.begin() as session:
        runtime_logs.append(session, lines(deployment_id, [5, 10, 20, 20, 30, 40]))
    with sessions.begin() as session:
        removed = runtime_logs.prune(session, cutoff_ns=10, max_lines=3)
    with sessions() as session:
        kept = session.scalars(
            select(RuntimeLogLine.message).order_by(RuntimeLogLine.time_ns, RuntimeLogLine.id)
        ).all()
        count = session.scalar(select(func.count()).select_from(RuntimeLogLine))
    assert removed == 3
    assert kept == ["line 3", "line 4", "line 5"]
    assert count == 3
