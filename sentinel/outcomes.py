"""What answered a request a replica served: its status, and the policy outcome.

The outcome is "allowed" when the app answered (whatever its status), else the code the
edge or a policy answered with, from its X-Dockyard-Error header (key_missing,
rate_limited, ...), and "no_response" when the client left or the request failed before
any answer. Metrics (sentinel.metered) and the request log (sentinel.logged) both count
requests by it.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import Message, Send

from sentinel.problems import EDGE_ERROR_HEADER

ALLOWED = "allowed"
NO_RESPONSE = "no_response"
_EDGE_ERROR = EDGE_ERROR_HEADER.encode()


class Answer:
    """A `send` that passes every message on and notes the response's start.

    Not a coroutine itself: it hands back the server's own awaitable, so watching a
    request adds no coroutine per message to the hot path."""

    __slots__ = ("_send", "outcome", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.outcome = NO_RESPONSE

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = status = message["status"]
            self.outcome = ALLOWED
            if status >= 400:
                for name, value in message.get("headers", ()):
                    if name == _EDGE_ERROR:
                        self.outcome = value.decode("latin-1")
                        break
        return self._send(message)
