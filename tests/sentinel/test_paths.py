from __future__ import annotations

import pytest

from sentinel.paths import resolve_dot_segments, resolve_in_scope


@pytest.mark.parametrize(
    ("raw", "resolved"),
    [
        (b"/", b"/"),
        (b"/api/v1/users", b"/api/v1/users"),
        (b"/files/report.v2.pdf", b"/files/report.v2.pdf"),
        (b"/a/%2Fb", b"/a/%2Fb"),
        (b"/static/../index.html", b"/index.html"),
        (b"/static/./css/../app.css", b"/static/app.css"),
        (b"/a/b/..", b"/a/"),
        (b"/a/.", b"/a/"),
        (b"/a/%2e%2E/b", b"/b"),
        (b"/a//../b", b"/a/b"),
        (b"/..hidden/x", b"/..hidden/x"),
    ],
)
def test_dot_segments_are_resolved_and_the_rest_kept_as_sent(raw: bytes, resolved: bytes) -> None:
    assert resolve_dot_segments(raw) == resolved


@pytest.mark.parametrize(
    "raw", [b"/..", b"/../etc/passwd", b"/a/../../etc/passwd", b"/%2e%2e/%2E%2E/etc/passwd"]
)
def test_a_path_that_climbs_above_the_root_is_refused(raw: bytes) -> None:
    assert resolve_dot_segments(raw) is None


def test_the_scope_gets_the_resolved_path_both_raw_and_decoded() -> None:
    scope = {"path": "/files/../caf\u00e9 menu", "raw_path": b"/files/../caf%C3%A9%20menu"}
    assert resolve_in_scope(scope)
    assert scope == {"path": "/caf\u00e9 menu", "raw_path": b"/caf%C3%A9%20menu"}


def test_a_scope_whose_path_climbs_above_the_root_is_left_alone() -> None:
    scope = {"path": "/../etc/passwd", "raw_path": b"/%2e%2e/etc/passwd"}
    assert not resolve_in_scope(scope)
    assert scope["raw_path"] == b"/%2e%2e/etc/passwd"
