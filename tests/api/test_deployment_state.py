"""dockyard's deployment states in Unkey's enums."""

from __future__ import annotations

import pytest

from api.deployment_state import (
    available_actions,
    error_message,
    stored_statuses,
    trigger_via,
    unkey_error_code,
    unkey_status,
)


def test_statuses() -> None:
    assert unkey_status("queued") == "pending"
    assert unkey_status("deploying") == "deploying"
    assert unkey_status("superseded") == "superseded"
    assert unkey_status("something-new") == "pending"
    assert stored_statuses(["pending", "ready"]) == {"pending", "queued", "ready"}


def test_error_codes_keep_dockyards_detail() -> None:
    assert unkey_error_code("build_failed") == "build_failed"
    assert unkey_error_code("health_check_failed") == "unknown"
    assert unkey_error_code(None) == "unknown"
    assert error_message("container_exited", "exit code 1") == "container_exited: exit code 1"
    assert error_message("build_failed", "step 3 failed") == "step 3 failed"
    assert error_message("x", "x: already there") == "x: already there"
    assert error_message(None, None) == "the deployment failed"


def test_triggers() -> None:
    assert trigger_via("cli") == "cli"
    assert trigger_via("rollback") == "unknown"
    assert trigger_via(None) == "unknown"


@pytest.mark.parametrize(
    ("status", "production", "is_current", "rolled_back", "has_current", "expected"),
    [
        ("ready", True, True, False, True, []),
        ("ready", True, True, True, True, ["promote"]),
        ("ready", True, False, False, True, ["promote", "rollback"]),
        # Superseded while queued: it never built, so there is nothing to serve.
        ("superseded", True, False, False, True, []),
        ("stopped", True, False, False, True, ["promote", "rollback"]),
        ("ready", True, False, False, False, []),
        ("deploying", True, False, False, True, []),
        ("failed", True, False, False, True, []),
        ("ready", False, False, False, False, ["stop"]),
        ("stopped", False, False, False, False, ["start"]),
        ("building", False, False, False, False, []),
    ],
)
def test_available_actions(status, production, is_current, rolled_back, has_current, expected):
    assert (
        available_actions(
            status=status,
            production=production,
            is_current=is_current,
            app_rolled_back=rolled_back,
            has_current=has_current,
        )
        == expected
    )
