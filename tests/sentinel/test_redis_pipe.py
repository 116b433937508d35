"""The replica's pipelined Redis connection: replies in order, and when it gives up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import uvloop

from sentinel.redis_pipe import RedisPipe, RedisUnavailable


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A server that accepts connections and reads, but never answers."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"
    server.close()


async def test_concurrent_calls_get_their_own_replies(redis_url: str) -> None:
    pipe = RedisPipe(redis_url)
    try:
        replies = await asyncio.gather(*(pipe.call("ECHO", str(i)) for i in range(200)))
        assert replies == [str(i).encode() for i in range(200)]
    finally:
        pipe.close()


async def test_a_silent_server_fails_the_calls_after_the_timeout(silent_server: str) -> None:
    pipe = RedisPipe(silent_server, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RedisUnavailable):
        await pipe.call("PING")
    assert 0.2 <= time.monotonic() - started < 1.0
    pipe.close()


async def test_a_loop_too_busy_to_read_the_reply_in_time_is_not_a_timeout(
    redis_url: str,
) -> None:
    async def stalled() -> bytes:
        pipe = RedisPipe(redis_url, timeout=0.1)
        try:
            assert await pipe.call("PING") == b"PONG"  # connected
            call = asyncio.ensure_future(pipe.call("ECHO", "late"))
            await asyncio.sleep(0.01)  # written, and answered
            time.sleep(0.3)  # the stall under test: the reply waits unread
            return bytes(await call)
        finally:
            pipe.close()

    # On uvloop, as replicas run: libuv runs due timers before it reads sockets.
    assert await asyncio.to_thread(uvloop.run, stalled()) == b"late"
