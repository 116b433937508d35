"""The edge and its Sentinel replicas fed forged, malformed and oversized requests.

The live app is an echo (tests/hostile/echo): /cgi-bin/echo answers with every header
and the request line it received, so each test reads what really reached the app.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Dockyard
from tests.hostile.conftest import LIVE
from tests.hostile.raw import Answer, send_raw

pytestmark = pytest.mark.integration

EDGE_ERROR = b"x-dockyard-edge-error"


def through_edge(yard: Dockyard, target: str, *headers: str, host: str = LIVE) -> Answer:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", *headers, "Connection: close", "", ""]
    return send_raw(yard.settings.edge_port, "\r\n".join(lines).encode("latin-1"))


def seen_by_app(answer: Answer) -> dict[str, str]:
    """The echo's CGI environment: HTTP_* for each header, REQUEST_URI, REMOTE_ADDR."""
    assert answer.status == 200, answer
    body = answer.body
    if b"transfer-encoding: chunked" in answer.raw.partition(b"\r\n\r\n")[0].lower():
        body = _unchunk(body)
    lines = body.decode("latin-1").splitlines()
    return dict(line.partition("=")[::2] for line in lines if "=" in line)


def _unchunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        if length == 0:
            break
        out += rest[:length]
        body = rest[length + 2 :]
    return bytes(out)


def edge_problem(answer: Answer, status: int) -> dict[str, object]:
    """An error the edge answered itself: RFC 7807 JSON, never the app's."""
    assert answer.status == status, answer
    head = answer.raw.partition(b"\r\n\r\n")[0].lower()
    assert EDGE_ERROR in head and b"application/problem+json" in head, answer
    problem: dict[str, object] = json.loads(answer.body)
    assert problem["status"] == status and problem["detail"]
    return problem


def test_the_echo_app_shows_what_it_receives(yard: Dockyard) -> None:
    seen = seen_by_app(through_edge(yard, "/cgi-bin/echo?probe=1", "X-Probe: visible"))
    assert seen["HTTP_X_PROBE"] == "visible"
    assert seen["REQUEST_URI"] == "/cgi-bin/echo?probe=1"


def test_forged_forwarding_headers_are_replaced_by_the_edge(yard: Dockyard) -> None:
    forged = through_edge(
        yard,
        "/cgi-bin/echo",
        "X-Forwarded-For: 6.6.6.6",
        "X_Forwarded_For: 7.7.7.7",
        "X-Real-IP: 8.8.8.8",
        "X_Real_IP: 8.8.4.4",
        "Forwarded: for=9.9.9.9;host=evil.example",
        "X-Forwarded-Host: evil.example",
        "X-Forwarded-Proto: https",
    )
    seen = seen_by_app(forged)
    assert seen["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"
    assert seen["HTTP_X_FORWARDED_HOST"] == LIVE
    assert seen["HTTP_X_FORWARDED_PROTO"] == "http"
    for claim in ("6.6.6.6", "7.7.7.7", "8.8.8.8", "8.8.4.4", "9.9.9.9", "evil.example"):
        assert claim not in forged.body.decode("latin-1"), f"{claim} reached the app"


def test_a_forged_principal_never_reaches_the_app(yard: Dockyard) -> None:
    forged = through_edge(
        yard,
        "/cgi-bin/echo",
        'X-Dockyard-Principal: {"subject":"admin","permissions":["*"]}',
        'X_Dockyard_Principal: {"subject":"root"}',
        'x-dockyard-principal: {"subject":"lowercase"}',
    )
    seen = seen_by_app(forged)
    assert "HTTP_X_DOCKYARD_PRINCIPAL" not in seen, seen.get("HTTP_X_DOCKYARD_PRINCIPAL")


@pytest.mark.parametrize(
    "target",
    [
        "/../../cgi-bin/echo",
        "/cgi-bin/../../../cgi-bin/echo",
        "/%2e%2e/%2E%2E/cgi-bin/echo",
    ],
)
def test_path_traversal_reaches_the_app_normalized_or_is_refused(
    yard: Dockyard, target: str
) -> None:
    # busybox itself answers an HTML 400 to a path above its root, so a raw path that
    # reached it shows; one that stays inside (/a/../b) it resolves alone, unobservably.
    answer = through_edge(yard, target)
    if answer.status == 400:
        edge_problem(answer, 400)
        return
    seen = seen_by_app(answer)
    assert seen["REQUEST_URI"] == "/cgi-bin/echo"


@pytest.mark.parametrize(
    "request_head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: %b\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: %b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: %b\nX-Bare: a\rb\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: %b\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: %b\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"GET / HTTP/1.1\r\nHost: %b\r\nBad Header: x\r\n\r\n",
    ],
)
def test_a_malformed_request_is_a_400_or_dropped_and_the_edge_keeps_serving(
    yard: Dockyard, request_head: bytes
) -> None:
    data = request_head % LIVE.encode() if b"%b" in request_head else request_head
    answer = send_raw(yard.settings.edge_port, data)
    # 505 is the answer to an HTTP version the edge does not speak (RFC 9110, 15.6.6).
    assert answer.status in (400, 505) or answer.dropped, answer
    assert seen_by_app(through_edge(yard, "/cgi-bin/echo"))["REQUEST_URI"] == "/cgi-bin/echo"


def test_a_folded_header_line_is_refused_or_unfolded(yard: Dockyard) -> None:
    """RFC 9112, 5.2: a server refuses obsolete line folding with a 400, or replaces each
    fold with a space before it forwards the field."""
    head = b"GET /cgi-bin/echo HTTP/1.1\r\nHost: %b\r\nX-Folded: a\r\n folded\r\n"
    answer = send_raw(yard.settings.edge_port, head % LIVE.encode() + b"Connection: close\r\n\r\n")
    if answer.status != 400 and not answer.dropped:
        assert seen_by_app(answer)["HTTP_X_FOLDED"] == "a folded", answer


@pytest.mark.parametrize(
    "headers",
    [
        ["X-Big: " + "a" * 1_000_000],
        [f"X-Many-{n}: v" for n in range(5000)],
    ],
)
def test_oversized_request_headers_are_a_431_or_dropped(yard: Dockyard, headers: list[str]) -> None:
    answer = through_edge(yard, "/cgi-bin/echo", *headers)
    assert answer.status == 431 or answer.dropped, answer


def test_an_oversized_body_is_a_413_problem_from_the_edge(yard: Dockyard) -> None:
    head = (
        f"POST /cgi-bin/echo HTTP/1.1\r\nHost: {LIVE}\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
    )
    problem = edge_problem(send_raw(yard.settings.edge_port, head.encode()), 413)
    assert problem["code"] == "body_too_large"


@pytest.mark.parametrize("host", ["nowhere.localhost", "evil.example", f"{LIVE}.evil.example"])
def test_a_host_no_deployment_serves_is_a_404_problem(yard: Dockyard, host: str) -> None:
    problem = edge_problem(through_edge(yard, "/cgi-bin/echo", host=host), 404)
    assert problem["code"] == "unknown_host"


def test_a_host_with_userinfo_is_a_400(yard: Dockyard) -> None:
    """`user@host` is no valid Host (RFC 9110, 7.2): refused before any routing."""
    answer = through_edge(yard, "/cgi-bin/echo", host=f"evil.example@{LIVE}")
    assert answer.status == 400, answer


def test_a_second_host_header_is_a_400(yard: Dockyard) -> None:
    answer = through_edge(yard, "/cgi-bin/echo", "Host: evil.example")
    assert answer.status == 400, answer


def test_a_second_host_header_never_routes_to_another_app(yard: Dockyard) -> None:
    answer = through_edge(yard, "/cgi-bin/echo", f"Host: {LIVE}", host="evil.example")
    assert answer.status in (400, 404), answer
