"""Steady HTTP load with every response counted: the evidence behind "zero downtime".

Used by the zero-downtime test, `python -m bench.zero_downtime` and the fault scenarios.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Tally:
    """What was sent and what came back, for one scenario."""

    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Requests that got no answer at all (connection refused, reset, timed out)."""
        return sum(self.errors.values())

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


async def steady_load(
    url: str,
    *,
    host: str,
    rate: float,
    stop: asyncio.Event,
    concurrency: int = 8,
    request_timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> Tally:
    """Send `rate` requests per second until `stop` is set; count every outcome.

    `headers` go with every request besides Host (an API key, say)."""
    tally = Tally()
    sent_headers = {**(headers or {}), "Host": host}
    interval = concurrency / rate
    client_timeout = aiohttp.ClientTimeout(total=request_timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:

        async def one_lane() -> None:
            next_at = time.monotonic()
            while not stop.is_set():
                await _request(session, url, sent_headers, tally)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        await asyncio.gather(*(one_lane() for _ in range(concurrency)))
    return tally


async def _request(
    session: aiohttp.ClientSession, url: str, headers: Mapping[str, str], tally: Tally
) -> None:
    tally.sent += 1
    started = time.monotonic()
    try:
        async with session.get(url, headers=headers) as response:
            body = (await response.text()).strip()
    except (aiohttp.ClientError, TimeoutError) as error:
        tally.errors[type(error).__name__] += 1
        tally.failed += 1
        return
    tally.latencies.append(time.monotonic() - started)
    tally.statuses[response.status] += 1
    if response.status == 200:
        tally.succeeded += 1
        tally.bodies[body[:40]] += 1
    else:
        tally.failed += 1


async def until_serving(url: str, *, host: str, within: float = 60.0) -> None:
    """Wait until the domain answers 200: load measures a running service, not its start."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url, headers={"Host": host}) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{host} did not answer 200 within {within:.0f}s")


def table(rows: list[tuple[str, Tally]]) -> str:
    """One line per scenario: sent, succeeded, failed, lost, p50/p99 latency."""
    header = (
        f"{'scenario':<40}{'sent':>8}{'succeeded':>11}{'failed':>8}{'lost':>6}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, tally in rows:
        lines.append(
            f"{name:<40}{tally.sent:>8}{tally.succeeded:>11}{tally.failed:>8}{tally.lost:>6}"
            f"{tally.percentile(0.5) * 1000:>9.1f}{tally.percentile(0.99) * 1000:>9.1f}"
        )
    return "\n".join(lines)
