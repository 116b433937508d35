"""Tunables of the edge that are not deployment settings; the defaults suit production."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    # Fallback for a lost or late Redis message: the DB is read at least this often.
    poll_interval: float = 1.0
    # A connect that takes longer is treated like a refusal: the next instance is tried.
    connect_timeout: float = 3.0
    # Silence from an instance (before its response headers, or between body chunks)
    # longer than this ends the request: 504 when nothing was sent to the client yet.
    read_timeout: float = 60.0
    # How long an instance that refused a connection is skipped.
    eject_seconds: float = 5.0
    # Idle keep-alive connections are closed after this, before the app does it: Node's
    # default is 5 s, and reusing a connection the app is closing costs a failed request.
    keepalive_seconds: float = 4.0
    # Wait between attempts to (re)subscribe to Redis.
    redis_retry_seconds: float = 1.0
    # Larger request bodies are refused with 413 (announced) or cut off (chunked).
    max_body_bytes: int = 100 * 1024 * 1024

    def __post_init__(self) -> None:
        for spec in fields(self):
            if getattr(self, spec.name) <= 0:
                raise ValueError(f"EdgeOptions.{spec.name} must be positive")
