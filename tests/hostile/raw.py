"""HTTP over plain sockets: the requests no well-behaved client library would send."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass

READ_TIMEOUT = 3.0


@dataclass(frozen=True)
class Answer:
    """What the server did with one raw request: its status line, or a closed connection."""

    raw: bytes

    @property
    def dropped(self) -> bool:
        return not self.raw

    @property
    def status(self) -> int | None:
        if not self.raw.startswith(b"HTTP/1."):
            return None
        return int(self.raw.split(b" ", 2)[1])

    @property
    def body(self) -> bytes:
        return self.raw.partition(b"\r\n\r\n")[2]

    def __str__(self) -> str:
        return "connection dropped" if self.dropped else self.raw[:300].decode("latin-1")


def send_raw(port: int, data: bytes, *, timeout: float = READ_TIMEOUT) -> Answer:
    """Send `data` as is on a new connection, then read until the server closes it or goes
    quiet for `timeout` seconds; a reset counts as a dropped connection (whatever was read
    before it is kept). The connection is not half-closed: a server may take that for a
    client gone away, so requests meant to be answered say `Connection: close`."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        # The server may refuse the rest of an oversized request: its answer is still read.
        with contextlib.suppress(OSError):
            connection.sendall(data)
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return Answer(bytes(received))


@dataclass(frozen=True)
class Drip:
    """A slowloris connection: how long the server let it live, and what it said."""

    seconds: float
    bytes_sent: int
    answer: Answer


def slowloris(port: int, host: str, *, interval: float = 1.0, limit: float = 60.0) -> Drip:
    """Send a request's headers one byte every `interval` seconds, never finishing them,
    until the server closes the connection (or `limit` seconds pass)."""
    head = f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode() + b"X-Slow: " + b"a" * 10_000
    return _drip(port, b"", head, interval=interval, limit=limit)


def slow_body(
    port: int, host: str, path: str, *, interval: float = 1.0, limit: float = 60.0
) -> Drip:
    """Send a whole request head announcing a JSON body, then the body one byte every
    `interval` seconds, until the server closes the connection (or `limit` seconds pass)."""
    body = b'{"name": "' + b"a" * 10_000 + b'"}'
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return _drip(port, head, body, interval=interval, limit=limit)


def _drip(port: int, first: bytes, rest: bytes, *, interval: float, limit: float) -> Drip:
    """Send `first` at once, then `rest` one byte every `interval` seconds."""
    started = time.monotonic()
    sent = 0
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=interval) as connection:
        connection.sendall(first)
        while time.monotonic() - started < limit:
            try:
                connection.send(rest[sent : sent + 1])
                sent += 1
                chunk = connection.recv(65536)  # waits `interval`: the drip's pace
                if not chunk:
                    break
                received += chunk
            except TimeoutError:
                continue
            except OSError:
                break
    return Drip(time.monotonic() - started, sent, Answer(bytes(received)))
