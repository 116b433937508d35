"""Fixed-window rate limits, exact across every process that shares one Redis.

One Lua script does the whole decision inside Redis, so concurrent callers (three
Sentinel replicas, the API) can never both take the last unit: the (limit+1)th request
of a window is refused, always. The window is cut from Redis's own clock (TIME), so
callers on machines with skewed clocks still agree on where a window starts. A refused
request costs nothing: its cost is not added.

Sentinel replicas run the same script through their own pipelined connection
(sentinel.redis_pipe); the API uses redis-py (RateLimiter below).

When Redis cannot be reached, counting falls back to this process alone (LocalWindows):
limits still hold per process, not across them, and `shared` says so. Redis is asked
again after RETRY_SECONDS, so an outage costs one failed call per second, not one per
request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "dockyard:rl:"
RETRY_SECONDS = 1.0

# KEYS[1] the counter's name; ARGV limit, window (ms), cost. Returns {passed, used, reset}.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = now - (now % window)
local key = KEYS[1] .. ':' .. start
local used = tonumber(redis.call('GET', key) or '0')
if used + cost > limit then return {0, used, start + window} end
if cost > 0 then
  used = redis.call('INCRBY', key, cost)
  if used == cost then redis.call('PEXPIRE', key, window + 1000) end
end
return {1, used, start + window}
"""


@dataclass(frozen=True, slots=True)
class Decision:
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
    passed, used, reset = (int(value) for value in result)
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
                return decision_from(limit, self._script(keys=[key], args=[limit, window_ms, cost]))
            except (RedisError, OSError) as error:
                self.failed(error)
        return self.local.take(key, limit, window_ms, cost)
