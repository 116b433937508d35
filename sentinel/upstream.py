"""One keep-alive HTTP/1.1 connection from the edge to an instance.

Why not aiohttp or httpx: measured here, aiohttp's client spends ~280 us of CPU per
request and httpx far more; this protocol, built on the same llhttp parser (httptools)
that the edge's server uses, spends a fraction of that (bench/edge.py). It does only
what a proxy needs: send a request head and a streamed body, hand back the status,
raw headers and body chunks as they arrive, and say whether the connection is reusable.

Flow control both ways: writes wait for the socket buffer to drain, and reading from the
instance pauses while the client has not taken more than HIGH_WATER bytes yet.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import cast

import httptools

HIGH_WATER = 256 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamError(Exception):
    """The instance broke the exchange: closed early, or answered something not HTTP."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The instance stayed silent for longer than the read timeout."""


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._last_activity = 0.0
        self._reading_paused = False
        self.idle_since = 0.0  # loop.time() when it went back to the pool
        self._reset()

    def _reset(self) -> None:
        self.in_use = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.responded = False  # any byte of a response arrived
        self.body_sent = True
        self._head_request = False
        self._informational = False
        self._keep_alive = True
        self._error: UpstreamError | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0

    # The exchange, as the proxy drives it.

    def start(self, head: bytes, *, head_request: bool) -> None:
        """Send a request head; the body, if any, follows through send_body."""
        assert self._transport is not None
        self._reset()
        self.in_use = True
        self._head_request = head_request
        self._transport.write(head)
        self._last_activity = self._loop.time()

    async def send_body(self, chunks: AsyncIterator[bytes], *, chunked: bool) -> None:
        assert self._transport is not None
        self.body_sent = False
        async for chunk in chunks:
            if self.closed:
                return
            self._transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            self._last_activity = self._loop.time()
            if self._drain is not None:
                await self._drain
        if chunked and not self.closed:
            self._transport.write(b"0\r\n\r\n")
        self.body_sent = True

    async def read_head(self) -> None:
        while not self.headers_done:  # _wait, inlined: every request waits here once
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def read(self) -> bytes:
        """What arrived of the body since the last call; b"" once the body is complete."""
        while not self._chunks:
            if self.complete:
                return b""
            await self._wait()
        data = self._chunks.popleft() if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    @property
    def drained(self) -> bool:
        """The body is complete and every byte of it was read."""
        return self.complete and not self._chunks

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and self._keep_alive
            and self.body_sent
            and not self.closed
            and not self._head_request  # llhttp cannot be told a HEAD answer has no body
        )

    def finish(self) -> None:
        """The exchange is over: its silence no longer counts against the instance."""
        self.in_use = False

    def check_timeout(self, now: float) -> None:
        """Called about every second by the pool: end an exchange gone silent too long.

        One sweep for all connections is cheaper than a timer per request (uvloop's
        call_at costs ~10 us); a client that reads slowly (reading paused) does not
        count as the instance's silence.
        """
        if not self.in_use:
            return
        if self._reading_paused:
            self._last_activity = now
        elif now - self._last_activity >= self._read_timeout:
            self.close(UpstreamTimeout(f"no answer within {self._read_timeout:g} s"))

    def close(self, error: UpstreamError | None = None) -> None:
        self.finish()
        if error is not None:
            self._fail(error)
        if self._transport is not None and not self.closed:
            self.closed = True
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.in_use:
            self.close()  # an idle connection has nothing to say; it is going away
            return
        self._last_activity = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.close(UpstreamError("the instance switched protocols, which is not supported"))
        except httptools.HttpParserError as error:
            self.close(UpstreamError(f"the instance sent an invalid HTTP response: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and not self._framed():
            self.complete = True  # the body of an unframed response ends with the connection
            self._keep_alive = False
        elif not self.complete:
            reason = f": {exc}" if exc else ""
            self._fail(UpstreamError(f"the instance closed the connection{reason}"))
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self.finish()

    def pause_writing(self) -> None:
        self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request: this connection's framing cannot be trusted.
            self._keep_alive = False
        self.responded = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # 1xx (103 Early Hints, a stray 100 Continue): the real answer follows.
            self._informational = True
            self.headers = []
            return
        self.status = status
        self.headers_done = True
        if self._head_request:
            self.complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._keep_alive = self._parser.should_keep_alive()
        self.finish()
        self._wake()

    # internals

    def _framed(self) -> bool:
        """Whether the response says where its body ends (else the connection's end does).
        Asked only when a connection ends mid-response, not for every response."""
        if self._head_request or self.status in NO_BODY_STATUSES:
            return True
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return True
        return False

    def _fail(self, error: UpstreamError) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        """Until the parser or the connection has news; raises once the exchange failed."""
        if self._error is not None:
            raise self._error
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """An HTTP/1.1 request head. Names and values come from a parsed request (no CR/LF)."""
    fields = b"".join([b"%b: %b\r\n" % pair for pair in headers])
    return b"%b %b HTTP/1.1\r\n%b\r\n" % (method, target, fields)
