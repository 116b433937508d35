"""Rate limits in a replica: dockyard.ratelimit's script over the pipelined connection,
counting in this process alone while Redis is unreachable (health says so)."""

from __future__ import annotations

from starlette.responses import Response

from dockyard.ratelimit import SCRIPT, Decision, Fallback, decision_from
from sentinel import problems
from sentinel.redis_pipe import RedisPipe, RedisUnavailable


class Limiter(Fallback):
    def __init__(self, pipe: RedisPipe | None) -> None:
        super().__init__()
        self._pipe = pipe
        if pipe is None:
            self.down_until = float("inf")  # no Redis configured: always local

    async def take(self, key: str, limit: int, window_ms: int, cost: int = 1) -> Decision:
        if self._pipe is not None and self.shared:
            try:
                result = await self._pipe.evalsha(SCRIPT, [key], [limit, window_ms, cost])
                return decision_from(limit, result)
            except RedisUnavailable as error:
                self.failed(error)
        return self.local.take(key, limit, window_ms, cost)


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
