"""Keep-alive connections to instances, shared by every request of one edge process.

Idle connections wait per address, newest first (the one least likely to have been
closed by the instance), and are closed after `keepalive_seconds` of idleness: before
the app closes them itself (Node's default is 5 s), since reusing a connection the app
is closing costs a failed request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sentinel.upstream import UpstreamConnection, UpstreamError

# RFC 9110 section 9.2.2: these may be sent again when a reused connection turns out closed.
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})
MAX_IDLE_PER_INSTANCE = 256


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
        self._idle: dict[str, list[UpstreamConnection]] = {}

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

        Returns the connection (status, headers, body to read) and the task still sending
        the request body, if any. Raises ConnectFailed when nothing was sent, UpstreamError
        when the instance broke the exchange, UpstreamTimeout when it stayed silent.
        """
        connection = self._take_idle(address)
        reused = connection is not None
        if connection is None:
            connection = await self.connect(address)
        try:
            return connection, await self._exchange(connection, head, method, body, chunked)
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
        connection.start(head, head_request=method == b"HEAD")
        sender = None
        if body is not None:
            # Sent beside the wait for the answer: an app may answer (413, 401) before it
            # has read the whole body, and then must not wait on us.
            sender = asyncio.create_task(connection.send_body(body, chunked=chunked))
            sender.add_done_callback(lambda task: _close_on_error(task, connection))
        try:
            await connection.read_head()
        except BaseException:
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
        """Return a finished connection for reuse, or close it when it cannot be reused."""
        connection.finish()
        idle = self._idle.setdefault(address, [])
        if not connection.reusable or len(idle) >= MAX_IDLE_PER_INSTANCE:
            connection.close()
            return
        idle.append(connection)
        connection.idle_timer = asyncio.get_running_loop().call_later(
            self._keepalive, self._expire, address, connection
        )

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    def _take_idle(self, address: str) -> UpstreamConnection | None:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if connection.idle_timer is not None:
                connection.idle_timer.cancel()
                connection.idle_timer = None
            if not connection.closed:
                return connection
        return None

    def _expire(self, address: str, connection: UpstreamConnection) -> None:
        connection.idle_timer = None
        idle = self._idle.get(address)
        if idle is not None:
            with contextlib.suppress(ValueError):
                idle.remove(connection)
        connection.close()


def _close_on_error(task: asyncio.Task[None], connection: UpstreamConnection) -> None:
    # A body that could not be sent (client gone, instance gone) ends the exchange.
    if task.cancelled() or task.exception() is not None:
        connection.close(UpstreamError("the request body could not be sent"))
