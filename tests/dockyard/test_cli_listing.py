"""How list commands show their rows: columns, ages, and production's traffic markers."""

from __future__ import annotations

from typing import Any

from dockyard.cli.deployment_rows import traffic
from dockyard.cli.listing import ago, table

MINUTE = 60_000


def deployment(id_: str, created: int, *, env: str = "production", **fields: Any) -> dict:
    return {
        "id": id_,
        "project": "shop",
        "app": "default",
        "environment": env,
        "createdAt": created,
        "isCurrent": False,
        "availableActions": [],
        **fields,
    }


def test_columns_line_up_under_a_header_and_missing_cells_show_a_dash() -> None:
    lines = table(("id", "name"), [("d_1", None), ("d_long", "x")])

    assert lines == ["ID      NAME", "d_1     -", "d_long  x"]


def test_age_is_said_in_its_largest_whole_unit() -> None:
    now = 10 * 86_400_000
    assert [ago(now - ms, now) for ms in (500, 42_000, 3 * MINUTE, 5 * 60 * MINUTE)] == [
        "just now",
        "42s ago",
        "3m ago",
        "5h ago",
    ]
    assert ago(now - 2 * 86_400_000, now) == "2d ago"
    assert ago(None, now) == "-"


def test_live_deployment_is_marked_live() -> None:
    rows = [
        deployment("d_2", 2, isCurrent=True),
        deployment("d_1", 1, availableActions=["promote", "rollback"]),
    ]

    assert traffic(rows) == {"d_2": "live"}


def test_after_a_rollback_the_target_and_the_newer_deployments_are_marked() -> None:
    rows = [
        deployment("d_4", 4, env="preview", availableActions=["stop"]),
        deployment("d_3", 3, status="failed"),
        deployment("d_2", 2, availableActions=["promote", "rollback"]),
        deployment("d_1", 1, isCurrent=True, availableActions=["promote"]),
        deployment("d_0", 0, availableActions=["promote", "rollback"]),
    ]

    assert traffic(rows) == {"d_2": "rolled back from", "d_1": "live, rolled back to"}
