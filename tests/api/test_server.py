"""The API's HTTP server: a request head must arrive in time and fit in its limit."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from api import server
from tests.hostile.raw import send_raw, slowloris


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await PlainTextResponse("hello")(scope, receive, send)


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(server, "HEAD_TIMEOUT", 1.0)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(hello, http=server.GuardedHttpTools, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.01)
    yield sock.getsockname()[1]
    running.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_a_head_sent_one_byte_a_second_is_cut_off_with_408(port: int) -> None:
    drip = slowloris(port, "api.test", interval=0.2, limit=10)
    assert drip.seconds < 3, f"the connection lived {drip.seconds:.1f} s"
    assert drip.answer.status == 408
    assert "did not arrive within 1 seconds" in json.loads(drip.answer.body)["error"]["detail"]


def test_a_silent_connection_is_closed_after_the_head_timeout(port: int) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
        assert silent.recv(4096).startswith(b"HTTP/1.1 408 ")
        assert silent.recv(4096) == b""
    assert time.monotonic() - started < 3


def test_an_oversized_head_gets_431_and_small_ones_still_pass(port: int) -> None:
    big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    answer = send_raw(port, big)
    assert answer.status == 431, answer
    assert json.loads(answer.body)["error"]["type"] == "request-header-fields-too-large"
    fine = send_raw(port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Ok: " + b"a" * 8000 + b"\r\n\r\n")
    assert fine.status == 200 and fine.body == b"hello"


def test_a_kept_alive_connection_gets_a_fresh_deadline_per_request(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(3):
            time.sleep(0.6)  # within one timeout each, more than one in all
            connection.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert connection.recv(4096).endswith(b"hello")
