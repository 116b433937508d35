"""A process's request-log records: a bounded queue in memory, shipped in batches.

`add` is what the hot path calls: one length check and one deque append, from the event
loop or any thread. When the queue holds `bound` records the new one is dropped and
counted (`dropped`), so a stalled Redis costs memory up to the bound and never a wait.
`run` ships the queue every `interval` seconds, BATCH records per XADD (one stream entry
carries a whole batch, as MessagePack), and trims the stream to about MAX_ENTRIES entries so a
stopped collector cannot fill Redis. A batch Redis refuses is dropped and counted too.

Shipping runs on the event loop, with Redis's asyncio client, never in a thread: a thread
that wakes a dozen times a second to ship contends for the GIL with the loop serving
requests, and that contention cost a Sentinel replica about 10 % of its CPU per request
(bench.analytics); packing a batch on the loop costs a fraction of a millisecond.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgpack  # type: ignore[import-untyped]
import redis
import redis.asyncio

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL = 1.0
# Stream entries kept for a collector that is behind: at BATCH records each, millions.
MAX_ENTRIES = 20_000
FIELD = b"r"


def encode(batch: Sequence[Sequence[Any]]) -> bytes:
    packed: bytes = msgpack.packb(batch)
    return packed


def decode(payload: bytes) -> list[list[Any]]:
    """A batch's records; ValueError when the payload is not one."""
    records = msgpack.unpackb(payload)
    if not isinstance(records, list):
        raise ValueError("a request log batch is a list of records")
    return records


class Shipper:
    def __init__(
        self,
        redis_url: str,
        stream: str,
        *,
        bound: int,
        interval: float = INTERVAL,
    ) -> None:
        self.stream = stream
        self.bound = bound
        self.dropped = 0
        self.shipped = 0
        self._interval = interval
        self._queue: deque[Sequence[Any]] = deque()
        self._redis_url = redis_url
        self._client: redis.asyncio.Redis | None = None  # made on the loop that ships
        self._failing = False

    def add(self, record: Sequence[Any]) -> None:
        if len(self._queue) >= self.bound:
            self.dropped += 1
            return
        self._queue.append(record)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def stats(self) -> dict[str, int]:
        return {"queued": self.queued, "shipped": self.shipped, "dropped": self.dropped}

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self._interval)
                await self.flush()
        finally:
            await self.flush()
            if self._client is not None:
                await self._client.aclose()

    async def flush(self) -> None:
        """Ship what is queued now; what arrives meanwhile waits for the next flush."""
        pending = len(self._queue)
        while pending > 0:
            size = min(BATCH, pending)
            batch = [self._queue.popleft() for _ in range(size)]
            pending -= size
            try:
                await self._send(batch)
            except (redis.RedisError, OSError) as error:
                self.dropped += size
                if not self._failing:
                    log.warning("request log records dropped, Redis refused them: %s", error)
                self._failing = True
                continue
            self.shipped += size
            self._failing = False

    async def _send(self, batch: list[Sequence[Any]]) -> None:
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(
                self._redis_url, socket_connect_timeout=0.5, socket_timeout=2
            )
        await self._client.xadd(
            self.stream, {FIELD: encode(batch)}, maxlen=MAX_ENTRIES, approximate=True
        )
