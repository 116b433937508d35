"""Fixed-window rate limits, exact across every process that shares one Redis.

One Lua script does the whole decision inside Redis, so concurrent callers (three
Sentinel replicas, the API) can never both take the last unit: the counter of a window
never grants more than `limit` units. The window is cut from Redis's own clock (TIME), so
callers on machines with skewed clocks still agree on where a window starts. A refused
request costs nothing: its cost is not added.

The same script also leases: besides the units a request needs now, a caller may ask for
`spare` units to spend later without asking again (a Sentinel replica does, see
sentinel.limits for what that guarantees), and give back units it did not spend. A
spare grant is at most 1/LEASE_SHARE of what is left in the window, so the last units of
a window are handed out one request at a time. The API asks for no spare units: its
answers (`remaining` included) are exact, counting units leased to replicas as taken.

Sentinel replicas run the script through their own pipelined connection
(sentinel.redis_pipe); the API uses redis-py (RateLimiter below).

When Redis cannot be reached, counting falls back to this process alone (LocalWindows):
limits still hold per process, not across them, and `shared` says so. Redis is asked
again after RETRY_SECONDS, so an outage costs one failed call per second, not one per
request.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "dockyard:rl:"
RETRY_SECONDS = 1.0

# A spare grant is at most this share of what is left of the window (1/LEASE_SHARE).
LEASE_SHARE = 100

# KEYS[1] the counter's name; ARGV limit, window (ms), need, spare, share, returned,
# returned_start. First `returned` units of the window that started at `returned_start`
# go back (when that window is still the current one). Then: refused when fewer than
# `need` units are left; else `need` plus up to `spare` more units, but no more spare
# ones than 1/share of what is left after `need`.
# Returns {passed, used, reset, now, granted}: `used` counts every unit granted in this
# window, reset is when it ends (unix ms), now is Redis's clock.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local need, spare, share = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local returned, returned_start = tonumber(ARGV[6]), tonumber(ARGV[7])
local start = now - (now % window)
local key = KEYS[1] .. ':' .. start
if returned > 0 and returned_start == start and redis.call('EXISTS', key) == 1 then
  redis.call('DECRBY', key, returned)
end
local used = tonumber(redis.call('GET', key) or '0')
local left = limit - used
if need > left then return {0, used, start + window, now, 0} end
local grant = need + math.max(0, math.min(spare, math.floor((left - need) / share)))
if grant > 0 then
  used = redis.call('INCRBY', key, grant)
  if used == grant then redis.call('PEXPIRE', key, window + 1000) end
end
return {1, used, start + window, now, grant}
"""


def script_args(
    limit: int, window_ms: int, need: int, *, spare: int = 0, returned: int = 0, start: int = 0
) -> list[int]:
    """SCRIPT's ARGV: take `need` units (and up to `spare` more), after giving back
    `returned` units of the window that started at `start`."""
    return [limit, window_ms, need, spare, LEASE_SHARE, returned, start]


class Decision(NamedTuple):
    """One rate-limit answer. A tuple: made for every request a replica admits."""

    passed: bool
    limit: int
    remaining: int
    reset: int  # unix ms when the window ends
    shared: bool = True  # False: counted by this process alone (Redis unreachable)

    @property
    def retry_after_seconds(self) -> int:
        return max(1, -(-(self.reset - int(time.time() * 1000)) // 1000))


def counter_key(*parts: str) -> str:
    return KEY_PREFIX + ":".join(parts)


def decision_from(limit: int, result: list[int], *, shared: bool = True) -> Decision:
    passed, used, reset = (int(value) for value in result[:3])
    return Decision(bool(passed), limit, max(0, limit - used), reset, shared)


class LocalWindows:
    """The same fixed windows, counted in this process only."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    def take(self, key: str, limit: int, window_ms: int, cost: int) -> Decision:
        now = int(time.time() * 1000)
        start = now - now % window_ms
        window_start, used = self._windows.get(key, (start, 0))
        if window_start != start:
            used = 0
            if len(self._windows) > 100_000:  # forget old windows now and then
                self._windows = {k: v for k, v in self._windows.items() if v[0] == start}
        if used + cost > limit:
            return Decision(False, limit, max(0, limit - used), start + window_ms, shared=False)
        used += cost
        self._windows[key] = (start, used)
        return Decision(True, limit, limit - used, start + window_ms, shared=False)


class Fallback:
    def __init__(self) -> None:
        self.local = LocalWindows()
        self.down_until = 0.0

    @property
    def shared(self) -> bool:
        """Whether counting is shared through Redis right now."""
        return time.monotonic() >= self.down_until

    def failed(self, error: Exception) -> None:
        if self.shared:
            log.warning("rate limits counted per process: Redis unreachable (%s)", error)
        self.down_until = time.monotonic() + RETRY_SECONDS


class RateLimiter(Fallback):
    """For synchronous callers (the API's handlers)."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__()
        self._script = client.register_script(SCRIPT)

    def take(self, key: str, limit: int, window_ms: int, cost: int = 1) -> Decision:
        if self.shared:
            try:
                args = script_args(limit, window_ms, cost)
                return decision_from(limit, self._script(keys=[key], args=args))
            except (RedisError, OSError) as error:
                self.failed(error)
        return self.local.take(key, limit, window_ms, cost)
