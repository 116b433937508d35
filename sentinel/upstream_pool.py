"""Keep-alive connections to instances, shared by every request of one edge process.

Idle connections wait per address, newest first (the one least likely to have been
closed by the instance), and are closed after `keepalive_seconds` of idleness: before
the app closes them itself (Node's default is 5 s), since reusing a connection the app
is closing costs a failed request.

One sweep task, about every second, enforces both the read timeout of busy connections
and the idle limit of waiting ones; timers per request would cost more than the rest of
the pool's work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sentinel.upstream import UpstreamConnection, UpstreamError, UpstreamTimeout

# RFC 9110 section 9.2.2: these may be sent again when a reused connection turns out closed.
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})
MAX_IDLE_PER_INSTANCE = 256
MAX_SWEEP_INTERVAL = 1.0


class ConnectFailed(Exception):
    """No connection to the instance: refused, unreachable, or too slow to accept."""

    def __init__(self, address: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(f"{address}: {reason}")
        self.timed_out = timed_out


class UpstreamPool:
    def __init__(
        self, *, connect_timeout: float, read_timeout: float, keepalive_seconds: float
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._keepalive = keepalive_seconds
        # A timeout may overrun by this much; a quarter keeps short test timeouts precise.
        self._sweep_interval = min(MAX_SWEEP_INTERVAL, read_timeout / 4, keepalive_seconds / 4)
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self._busy: set[UpstreamConnection] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop  # set by the first request

    async def request(
        self,
        address: str,
        head: bytes,
        *,
        method: bytes,
        body: AsyncIterator[bytes] | None = None,
        chunked: bool = False,
    ) -> tuple[UpstreamConnection, asyncio.Task[None] | None]:
        """Send a request and wait for the response head.

        Returns the connection (status, headers, body to read; hand it back with release)
        and the task still sending the request body, if any. Raises ConnectFailed when
        nothing was sent, UpstreamTimeout when the instance stayed silent, UpstreamError
        when it broke the exchange.
        """
        if self._sweeper is None:
            # The loop, kept: asking asyncio for it costs a getpid() system call each time.
            self._loop = asyncio.get_running_loop()
            self._sweeper = self._loop.create_task(self._sweep(), name="sentinel-upstream-sweep")
        connection = self._take_idle(address)
        reused = connection is not None
        if connection is None:
            connection = await self.connect(address)
        try:
            return connection, await self._exchange(connection, head, method, body, chunked)
        except UpstreamTimeout:
            raise  # a slow app, not a stale connection: asking again would double the wait
        except UpstreamError:
            # An idle connection the instance closed just as it was picked up: nothing was
            # answered, so a request without a body may safely go again, once.
            if not (reused and not connection.responded and method in IDEMPOTENT and body is None):
                raise
        connection = await self.connect(address)
        return connection, await self._exchange(connection, head, method, body, chunked)

    async def _exchange(
        self,
        connection: UpstreamConnection,
        head: bytes,
        method: bytes,
        body: AsyncIterator[bytes] | None,
        chunked: bool,
    ) -> asyncio.Task[None] | None:
        self._busy.add(connection)
        connection.start(head, head_request=method == b"HEAD")
        sender = None
        if body is not None:
            # Sent beside the wait for the answer: an app may answer (413, 401) before it
            # has read the whole body, and then must not wait on us.
            sender = self._loop.create_task(connection.send_body(body, chunked=chunked))
            sender.add_done_callback(lambda task: _close_on_error(task, connection))
        try:
            await connection.read_head()
        except BaseException:
            self._busy.discard(connection)
            connection.close()
            if sender is not None:
                sender.cancel()
            raise
        return sender

    async def connect(self, address: str) -> UpstreamConnection:
        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: UpstreamConnection(loop, self.read_timeout), host.strip("[]"), int(port)
                ),
                timeout=self.connect_timeout,
            )
        except TimeoutError as error:
            raise ConnectFailed(
                address, f"no connection within {self.connect_timeout:g} s", timed_out=True
            ) from error
        except (OSError, ValueError) as error:
            raise ConnectFailed(address, str(error) or type(error).__name__) from error
        return connection

    def release(self, address: str, connection: UpstreamConnection) -> None:
        """Take back a finished connection for reuse, or close it when it cannot be reused."""
        self._busy.discard(connection)
        connection.finish()
        idle = self._idle.setdefault(address, [])
        if not connection.reusable or len(idle) >= MAX_IDLE_PER_INSTANCE:
            connection.close()
            return
        connection.idle_since = self._loop.time()
        idle.append(connection)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for connection in [*self._busy, *(c for idle in self._idle.values() for c in idle)]:
            connection.close()
        self._busy.clear()
        self._idle.clear()

    def _take_idle(self, address: str) -> UpstreamConnection | None:
        idle = self._idle.get(address)
        if not idle:
            return None
        now = self._loop.time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self._keepalive:
                return connection
            connection.close()
        return None

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._sweep_interval)
            now = loop.time()
            for connection in list(self._busy):
                connection.check_timeout(now)
            for address, idle in list(self._idle.items()):
                fresh = [c for c in idle if not c.closed and now - c.idle_since < self._keepalive]
                for connection in idle:
                    if connection not in fresh:
                        connection.close()
                if fresh:
                    self._idle[address] = fresh
                else:
                    del self._idle[address]  # instances come and go: forget empty entries


def _close_on_error(task: asyncio.Task[None], connection: UpstreamConnection) -> None:
    # A body that could not be sent (client gone, instance gone) ends the exchange.
    if task.cancelled() or task.exception() is not None:
        connection.close(UpstreamError("the request body could not be sent"))
