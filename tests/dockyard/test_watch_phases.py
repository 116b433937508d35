"""`dockyard deploy` says every phase a deployment passed through, in order, even the ones
that began and ended between two polls, then its final status."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli import watch

CREATED = 1_000_000


def step(name: str, started: int, status: str = "completed") -> dict[str, Any]:
    return {"name": name, "status": status, "startedAt": CREATED + started}


SKIPPED = [step("queued", 0, "skipped"), step("building", 0, "skipped")]
POLLS = [
    {"status": "pending", "steps": []},
    {"status": "deploying", "steps": [*SKIPPED, step("deploying", 300, "running")]},
    # network and finalizing both began and ended before this poll.
    {
        "status": "ready",
        "finishedAt": CREATED + 2210,
        "steps": [
            *SKIPPED,
            step("deploying", 300),
            step("network", 1420),
            step("finalizing", 1690),
        ],
    },
]


class Polls:
    """deployments.getDeployment answering each poll with the next state."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self._states = iter(states)

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        assert operation == "deployments.getDeployment"
        return {"id": body["deploymentId"], "createdAt": CREATED, **next(self._states)}


@pytest.fixture(autouse=True)
def no_poll_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "POLL_SECONDS", 0)


def test_every_phase_is_said_once_in_order_with_when_it_began() -> None:
    said: list[str] = []

    final = watch.follow(Polls(POLLS), "d_1", say=said.append)  # type: ignore[arg-type]

    assert final["status"] == "ready"
    assert [line.split() for line in said] == [
        ["0.30s", "deploying"],
        ["1.42s", "network"],
        ["1.69s", "finalizing"],
        ["2.21s", "ready"],
    ]


def test_a_failed_deployment_ends_with_the_phase_it_failed_in() -> None:
    failed = {
        "status": "failed",
        "finishedAt": CREATED + 900,
        "steps": [*SKIPPED, step("deploying", 200, "failed")],
    }
    said: list[str] = []

    watch.follow(Polls([failed]), "d_2", say=said.append)  # type: ignore[arg-type]

    assert [line.split()[1] for line in said] == ["deploying", "failed"]
