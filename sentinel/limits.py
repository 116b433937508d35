"""Rate limits in a replica: units leased from Redis in batches and spent here, so a busy
counter costs one Redis round trip per lease instead of one per request.

Every counter is dockyard.ratelimit's fixed window in Redis (cut by Redis's clock),
shared with the other replicas and the API. A replica that has no unit left for a request
asks Redis for the request's units plus spare ones (one round trip, one Lua script),
giving back in the same call whatever it still held of that counter; it spends the spare
units on later requests of the counter without asking, and tops them up in the
background when half are gone.

What a limit guarantees (R replicas of the environment; `size` = min(LEASE_MAX,
limit // LEASE_SHARE), at most 1% of the limit):
- Never more than `limit` units are admitted in a window, across all replicas and the API
  together. Redis grants no unit beyond the limit, and a replica spends a leased unit only
  before the window it was granted in ends: the end is Redis's, moved onto this process's
  clock from before the call went out (so it comes early, never late), refreshed by every
  grant, and a lease not topped up for LEASE_SECONDS is not spent at all.
- Limits of at most LEASE_SHARE (100) units per window are exact, as without leases:
  Redis grants no spare unit while fewer than LEASE_SHARE of the window's units are left
  beyond the request's own, so every request asks Redis and the (limit+1)th unit of a
  window is the first refused, whichever replica it reaches.
- A larger limit may refuse early, by at most what other replicas hold: a replica holds at
  most `size` unspent units of a counter, and refuses a request only when Redis has fewer
  units left than the request costs, counting units other replicas hold as taken. So a
  429 comes only after at least `limit - (R - 1) * size` units of the window were
  admitted (the API, which never holds units, refuses after `limit - R * size`). The last
  LEASE_SHARE units of a window are never leased, so the remainder shrinks as the window
  fills.
- Unspent units go back to Redis when the replica next asks for that counter, after
  LEASE_SECONDS without a new grant (swept every LEASE_SECONDS, so within twice that),
  and when the replica stops; a replica that is killed keeps its units (at most `size`
  per counter) taken until the window ends.
- After a refusal, the replica refuses requests of the counter that cost at least as much,
  without asking Redis, until LEASE_SECONDS have passed or the window ends.
- X-RateLimit-Remaining is this replica's view: what Redis had left at its last grant plus
  its own unspent units; other replicas' spending since that grant is not in it.

While Redis is unreachable, counting falls back to this process alone (health says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.responses import Response

from dockyard.ratelimit import LEASE_SHARE, SCRIPT, Decision, Fallback, script_args
from sentinel import problems
from sentinel.redis_pipe import RedisPipe, RedisUnavailable

log = logging.getLogger(__name__)

# Most unspent units a replica holds of one counter (and at most limit // LEASE_SHARE).
LEASE_MAX = 1000
# A lease without a new grant for this long goes back to Redis; refusals are kept as long.
LEASE_SECONDS = 1.0
MAX_LEASES = 100_000
# Unspent units are given back at stop within this long, or kept until the window ends.
RETURN_TIMEOUT = 0.5


class Lease:
    """One counter's units held by this replica, in one window."""

    __slots__ = (
        "deadline",
        "due",
        "left",
        "refreshing",
        "refused",
        "reset",
        "start",
        "tokens",
        "window",
    )

    def __init__(self) -> None:
        self.tokens = 0  # unspent units
        self.window = 0  # ms
        self.start = 0  # the window's start, unix ms by Redis's clock
        self.reset = 0  # the window's end, likewise
        self.left = 0  # units the window had left after the last grant
        self.deadline = 0.0  # time.monotonic() when the window ends (at the latest)
        self.due = 0.0  # likewise, when unspent units go back and a refusal is forgotten
        self.refused = 0  # after a refusal: requests of at least this cost are refused
        # A call that may bring spare units, in flight: others wait for it, not ask too.
        self.refreshing: asyncio.Future[None] | None = None

    def live(self, now: float) -> bool:
        return now < self.due and now < self.deadline

    def decision(self, limit: int, passed: bool) -> Decision:
        return Decision(passed, limit, max(0, min(limit, self.left + self.tokens)), self.reset)


def lease_size(limit: int) -> int:
    """Most unspent units a replica holds of a counter with this limit."""
    return min(LEASE_MAX, limit // LEASE_SHARE)


class Limiter(Fallback):
    def __init__(self, pipe: RedisPipe | None) -> None:
        super().__init__()
        self._pipe = pipe
        self._leases: dict[str, Lease] = {}
        if pipe is None:
            self.down_until = float("inf")  # no Redis configured: always local

    async def take(self, key: str, limit: int, window_ms: int, cost: int = 1) -> Decision:
        if self._pipe is None or (self.down_until and not self.shared):
            return self.local.take(key, limit, window_ms, cost)
        lease = self._leases.get(key)
        if lease is not None and lease.window == window_ms and lease.live(time.monotonic()):
            if lease.tokens >= cost:
                lease.tokens -= cost
                if lease.refreshing is None and lease.tokens * 2 < lease_size(limit):
                    lease.refreshing = asyncio.get_running_loop().create_task(
                        self._prefetch(key, lease, limit, window_ms, lease_size(limit))
                    )
                return lease.decision(limit, True)
            if lease.refused and cost >= lease.refused:
                return lease.decision(limit, False)
        try:
            return await self._ask(key, limit, window_ms, cost)
        except RedisUnavailable as error:
            self.failed(error)
            self._leases.clear()
            return self.local.take(key, limit, window_ms, cost)

    async def _ask(self, key: str, limit: int, window_ms: int, cost: int) -> Decision:
        """Units this request needs, from a grant already on its way or from Redis."""
        lease = self._leases.get(key)
        if lease is None:
            if len(self._leases) >= MAX_LEASES:
                self._forget_stale(time.monotonic())
            lease = self._leases[key] = Lease()
        elif lease.refreshing is not None:
            await asyncio.shield(lease.refreshing)
            if lease.window == window_ms and lease.live(time.monotonic()):
                if lease.tokens >= cost:
                    lease.tokens -= cost
                    return lease.decision(limit, True)
                if lease.refused and cost >= lease.refused:
                    return lease.decision(limit, False)
        sent_at = time.monotonic()
        # What is held goes back with the call (too few for this request, or held too
        # long), so no unit of this replica's waits unspent while Redis refuses it.
        returned = lease.tokens if sent_at < lease.deadline else 0
        lease.tokens = 0
        spare = 0
        mine: asyncio.Future[None] | None = None
        if lease.refreshing is None:
            spare = max(0, lease_size(limit) - lease.tokens)
            if spare:
                mine = lease.refreshing = asyncio.get_running_loop().create_future()
        try:
            args = script_args(
                limit, window_ms, cost, spare=spare, returned=returned, start=lease.start
            )
            reply = await self._call(key, args)
            return self._apply(key, limit, window_ms, cost, reply, sent_at)
        finally:
            if mine is not None:
                mine.set_result(None)
                lease.refreshing = None

    async def _prefetch(
        self, key: str, lease: Lease, limit: int, window_ms: int, size: int
    ) -> None:
        """More units before this lease runs out, so requests do not wait for them."""
        try:
            sent_at = time.monotonic()
            args = script_args(limit, window_ms, 0, spare=max(0, size - lease.tokens))
            self._apply(key, limit, window_ms, 0, await self._call(key, args), sent_at)
        except RedisUnavailable as error:
            self.failed(error)
        finally:
            lease.refreshing = None

    async def _call(self, key: str, args: list[int]) -> list[int]:
        assert self._pipe is not None
        reply = await self._pipe.evalsha(SCRIPT, [key], list(args))
        return [int(value) for value in reply]

    def _apply(
        self, key: str, limit: int, window_ms: int, need: int, reply: list[int], sent_at: float
    ) -> Decision:
        """Take a grant (or refusal) into the counter's lease. `need` units of the grant
        are the caller's, spent at once; the rest are the lease's."""
        passed, used, reset, now, granted = reply
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = Lease()
        start = reset - window_ms
        # When the window ends by this process's clock: counted from before the call left,
        # so never later than Redis's end; every answer corrects it for drift.
        ends = sent_at + (reset - now) / 1000
        if start > lease.start or lease.window != window_ms:
            # A new window (or the limit's window changed): what was held is void.
            lease.tokens, lease.window, lease.start, lease.reset = 0, window_ms, start, reset
            lease.deadline = ends
        elif start < lease.start:  # a late answer about a window already over
            return Decision(bool(passed), limit, max(0, limit - used), reset)
        else:
            lease.deadline = min(lease.deadline, ends)
        lease.left = limit - used
        lease.due = time.monotonic() + LEASE_SECONDS
        if passed:
            lease.tokens += granted - need
            lease.refused = 0
        elif need and lease.tokens >= need:
            lease.tokens -= need  # refused, as units granted meanwhile are held here
            return lease.decision(limit, True)
        else:
            lease.refused = max(1, need)
        return lease.decision(limit, bool(passed))

    def _forget_stale(self, now: float) -> None:
        self._leases = {key: lease for key, lease in self._leases.items() if lease.live(now)}

    async def run(self) -> None:
        """Give back units of leases gone stale, about once a second; all of them at stop."""
        try:
            while True:
                await asyncio.sleep(LEASE_SECONDS)
                await self.give_back(everything=False)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.give_back(everything=True), RETURN_TIMEOUT)

    async def give_back(self, *, everything: bool) -> None:
        """Return the unspent units of stale leases (or of all) and forget those leases."""
        if self._pipe is None:
            return
        now = time.monotonic()
        calls = []
        for key, lease in list(self._leases.items()):
            if lease.refreshing is not None or (lease.live(now) and not everything):
                continue
            del self._leases[key]
            if lease.tokens and now < lease.deadline:
                args = script_args(0, lease.window, 0, returned=lease.tokens, start=lease.start)
                lease.tokens = 0
                calls.append(self._call(key, args))
        for outcome in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(outcome, RedisUnavailable):
                log.info("unspent rate-limit units not given back: %s", outcome)


def headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    """X-RateLimit-* for the answer: the limit, what is left, when the window resets."""
    return [
        (b"x-ratelimit-limit", b"%d" % decision.limit),
        (b"x-ratelimit-remaining", b"%d" % decision.remaining),
        (b"x-ratelimit-reset", b"%d" % (decision.reset // 1000)),
    ]


def limited(decision: Decision, detail: str) -> Response:
    """429 with Retry-After and the rate-limit headers."""
    problem = problems.Problem(429, "rate_limited", detail, limit=decision.limit)
    for name, value in headers(decision):
        problem.headers[name.decode()] = value.decode()
    problem.headers["retry-after"] = str(decision.retry_after_seconds)
    return problem
