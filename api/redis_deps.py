"""Redis for the key and rate-limit operations: change notices and shared counters.

One client (a thread-safe connection pool) per Redis URL per process, made on first use:
every API instance in a process shares it, and it lives as long as the process.
"""

from __future__ import annotations

import functools
from typing import Annotated

import redis
from fastapi import Depends

from api.deps import ServicesDep
from dockyard.ratelimit import RateLimiter


@functools.cache
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


@functools.cache
def rate_limiter(url: str) -> RateLimiter:
    return RateLimiter(redis_client(url))


def get_redis(services: ServicesDep) -> redis.Redis:
    return redis_client(services.settings.redis_url)


def get_limiter(services: ServicesDep) -> RateLimiter:
    return rate_limiter(services.settings.redis_url)


RedisDep = Annotated[redis.Redis, Depends(get_redis)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
