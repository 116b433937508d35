"""One pipelined Redis connection for the replica's hot path (rate limits).

Why not redis-py's asyncio client: measured here, one EVALSHA through it costs ~190 us of
CPU (5,300 calls/s from one process), which alone would cap a replica below the speed
bar. This client writes every command issued during one loop iteration in a single
write on one connection and matches replies to callers in order (Redis answers in
order), parsing with hiredis: ~21 us per call, 47,000 calls/s (same machine, 64
concurrent callers).

Failure: when the oldest unanswered call was written more than `timeout` ago and no
answer at all has come for as long (a long pipeline that is being answered is not
stuck), and still none after the loop has read its sockets once more (a loop that was
busy for longer may hold the answer unread), the connection is dropped and every waiting
call fails with RedisUnavailable (one watchdog per connection, not a timer per call:
timers cost more than the call); the next call reconnects.
Callers decide what a failure means (rate limits fall back to counting locally).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import socket
import time
from collections import deque
from typing import Any, cast
from urllib.parse import urlparse

import hiredis


@functools.cache
def _digest(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - how Redis names scripts


class RedisUnavailable(Exception):
    """No answer from Redis: unreachable, too slow, or the connection broke."""


def encode(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        # Made inside the loop; kept, as asking asyncio for it costs a getpid() each time.
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._sent_at: deque[float] = deque()  # time.monotonic() when written, per call
        self._answered = 0  # replies so far
        self._answered_at = time.monotonic()  # when the last one came
        self._suspect = -1  # _answered when the oldest call was first seen overdue
        self._watchdog: asyncio.TimerHandle | None = None
        self._pending: list[bytes] = []
        self._flush_scheduled = False
        self._transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._answered += 1
            self._answered_at = time.monotonic()
            if self._waiting:
                waiter = self._waiting.popleft()
                self._sent_at.popleft()
                if not waiter.done():
                    waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._sent_at.clear()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RedisUnavailable(str(exc or "connection closed")))

    def call(self, command: bytes) -> asyncio.Future[Any]:
        loop = self._loop
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(waiter)
        self._pending.append(command)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return waiter

    def _check(self) -> None:
        """Drop the connection when the oldest call has waited too long."""
        self._watchdog = None
        if not self._sent_at:
            return  # the next write starts the watchdog again
        since = max(self._sent_at[0], self._answered_at)
        overdue = time.monotonic() - since - self._timeout
        if overdue >= 0 and self._suspect == self._answered:
            self.close()
            self.connection_lost(TimeoutError(f"no reply within {self._timeout:g} s"))
            return
        if overdue >= 0:
            # Look again after the loop has read its sockets once more.
            self._suspect = self._answered
            self._watchdog = self._loop.call_later(0.001, self._check)
            return
        self._suspect = -1
        self._watchdog = self._loop.call_later(max(-overdue, 0.001), self._check)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._transport is not None and not self.lost:
            self._transport.write(b"".join(self._pending))
            self._sent_at.extend([time.monotonic()] * len(self._pending))
            if self._watchdog is None:
                self._watchdog = self._loop.call_later(self._timeout, self._check)
        self._pending.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class RedisPipe:
    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        parsed = urlparse(url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 6379
        self._password = parsed.password
        self._db = int(parsed.path.strip("/") or 0)
        self._timeout = timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: _Connection(self._timeout), self._host, self._port),
            self._timeout,
        )
        setup = []
        if self._password:
            setup.append(connection.call(encode("AUTH", self._password)))
        if self._db:
            setup.append(connection.call(encode("SELECT", self._db)))
        for reply in await asyncio.gather(*setup):
            if isinstance(reply, hiredis.ReplyError):
                connection.close()
                raise RedisUnavailable(str(reply))
        return connection

    async def _ready(self) -> _Connection:
        if self._connection is not None and not self._connection.lost:
            return self._connection
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            self._connection = await asyncio.shield(self._connecting)
        except (OSError, TimeoutError) as error:
            raise RedisUnavailable(str(error) or type(error).__name__) from error
        finally:
            self._connecting = None
        return self._connection

    async def call(self, *args: bytes | str | int) -> Any:
        """One command's reply; a Redis error reply is returned as hiredis.ReplyError."""
        connection = self._connection
        if connection is None or connection.lost:
            connection = await self._ready()
        return await connection.call(encode(*args))

    async def evalsha(self, script: str, keys: list[str], args: list[int | str]) -> Any:
        """Run a script by its digest, loading it once when Redis does not know it."""
        digest = _digest(script)
        reply = await self.call("EVALSHA", digest, len(keys), *keys, *args)
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            reply = await self.call("EVAL", script, len(keys), *keys, *args)
        if isinstance(reply, hiredis.ReplyError):
            raise RedisUnavailable(str(reply))
        return reply

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
