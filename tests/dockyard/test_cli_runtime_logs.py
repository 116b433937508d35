"""`dockyard logs --runtime`: how lines read, where the log starts, and a follow that
prints each line once although its reads overlap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.cli.runtime_logs import (
    MAX_WINDOW_MS,
    follow_runtime_log,
    line_of,
    start_of,
)

NOW_MS = 1_765_054_800_000  # 2025-12-06T21:00:00Z


def entry(time: int, message: str, stream: str = "stdout", **extra: Any) -> dict[str, Any]:
    return {
        "time": time,
        "region": "local",
        "instanceId": "3f2a1b9c0d1e",
        "stream": stream,
        "message": message,
        **extra,
    }


def test_a_line_says_when_where_which_stream_and_what() -> None:
    assert line_of(entry(NOW_MS, "out 1")) == (
        "2025-12-06T21:00:00.000Z local 3f2a1b9c0d1e stdout out 1"
    )
    exited = line_of(entry(NOW_MS + 5, "exited with code 3", "event", exitCode=3))
    assert exited.endswith("local 3f2a1b9c0d1e ── exited with code 3")


def test_the_log_starts_at_since_or_the_deployment_at_most_a_week_back() -> None:
    deployment = {"createdAt": NOW_MS - 60_000}
    assert start_of(deployment, None, NOW_MS) == NOW_MS - 60_000
    ten_minutes = datetime.fromtimestamp((NOW_MS - 600_000) / 1000, UTC)
    assert start_of(deployment, ten_minutes, NOW_MS) == NOW_MS - 600_000
    assert start_of({"createdAt": 0}, None, NOW_MS) == NOW_MS - MAX_WINDOW_MS


class FakeApi:
    """Answers getDeployment with the next status, and getRuntimeLogs from a growing log."""

    def __init__(self, rounds: list[tuple[str, list[dict[str, Any]]]]) -> None:
        self.rounds = rounds
        self.log: list[dict[str, Any]] = []

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        status, more = self.rounds.pop(0)
        self.log.extend(more)
        return {"status": status}

    def call_page(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        data = [e for e in self.log if body["startTime"] <= e["time"] <= body["endTime"]]
        return {"data": data, "pagination": {"hasMore": False}}


def test_a_follow_prints_each_line_once_even_twins_and_late_ones() -> None:
    api = FakeApi(
        [
            ("ready", [entry(NOW_MS, "same"), entry(NOW_MS, "same")]),
            # A late line earlier than what was shown, and a third twin.
            ("ready", [entry(NOW_MS - 5, "late", "stderr"), entry(NOW_MS, "same")]),
            ("failed", [entry(NOW_MS + 10, "exited with code 3", "event", exitCode=3)]),
        ]
    )
    said: list[str] = []

    status = follow_runtime_log(
        api,  # type: ignore[arg-type]
        "d_1",
        start_ms=NOW_MS - 1000,
        region=None,
        say=said.append,
        now_ms=lambda: NOW_MS + 100,
        pause=0,
    )

    assert status == "failed"
    assert [line.split(" ", 4)[-1] for line in said] == [
        "same",
        "same",
        "late",
        "same",
        "exited with code 3",
    ]


def test_runtime_options_without_runtime_and_a_bad_since_are_refused() -> None:
    runner = CliRunner()
    environment = {"DOCKYARD_ROOT_KEY": "dy_unused", "DOCKYARD_API_URL": "http://127.0.0.1:9"}

    stray = runner.invoke(app, ["logs", "d_1", "--since", "10m"], env=environment)
    unreadable = runner.invoke(
        app, ["logs", "d_1", "--runtime", "--since", "ten minutes"], env=environment
    )

    assert stray.exit_code == 1 and "add --runtime" in stray.output
    assert unreadable.exit_code == 1 and "30s, 10m, 2h, 7d" in unreadable.output
