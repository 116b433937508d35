"""The cheapest Python hop there is, for bench.edge to put behind Caddy as a bound.

    python -m bench.relay <port> <upstream port>

An HTTP/1.1 relay on uvloop and httptools that forwards each GET to the upstream over
kept-alive connections and writes the answer back: no policies, no routing, no logging,
no request bodies, nothing a Sentinel replica does besides relaying. Caddy in front of
it is what any edge made of Caddy plus one Python hop reaches on the machine; a replica
can only do less. Not for anything but the benchmark.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque

import httptools
import uvloop


class Upstream(asyncio.Protocol):
    """One kept-alive connection to the upstream, carrying one exchange at a time."""

    def __init__(self, idle: list[Upstream]) -> None:
        self._idle = idle
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._client: Client | None = None
        self._head = b""
        self._fields: list[bytes] = []
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def send(self, client: Client, request: bytes) -> None:
        assert self._transport is not None
        self._client, self._fields, self._body = client, [], []
        self._transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append(b"%b: %b\r\n" % (name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        self._head = b"HTTP/1.1 %d OK\r\n%b\r\n" % (status, b"".join(self._fields))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        client, self._client = self._client, None
        assert client is not None
        self._idle.append(self)
        client.answer(self._head + b"".join(self._body))


class Client(asyncio.Protocol):
    """One client connection: requests are relayed in order, one at a time."""

    def __init__(self, upstream: tuple[str, int], idle: list[Upstream]) -> None:
        self._upstream = upstream
        self._idle = idle
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[bytes] = deque()
        self._busy = False
        self._target = b""
        self._fields: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self._target, self._fields = url, []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append(b"%b: %b\r\n" % (name, value))

    def on_message_complete(self) -> None:
        fields = b"".join(self._fields)
        self._waiting.append(b"GET %b HTTP/1.1\r\n%b\r\n" % (self._target, fields))
        if not self._busy:
            self._next()

    def answer(self, response: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(response)
        self._next()

    def _next(self) -> None:
        self._busy = bool(self._waiting)
        if not self._busy:
            return
        request = self._waiting.popleft()
        if self._idle:
            self._idle.pop().send(self, request)
        else:
            asyncio.get_running_loop().create_task(self._connect(request))

    async def _connect(self, request: bytes) -> None:
        loop = asyncio.get_running_loop()
        _, upstream = await loop.create_connection(lambda: Upstream(self._idle), *self._upstream)
        upstream.send(self, request)


async def relay(port: int, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()
    idle: list[Upstream] = []
    upstream = ("127.0.0.1", upstream_port)
    server = await loop.create_server(
        lambda: Client(upstream, idle), "127.0.0.1", port, backlog=4096
    )
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(relay(int(sys.argv[1]), int(sys.argv[2])))
