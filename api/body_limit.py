"""The most a request body may weigh.

Every operation's body is a small JSON document; without a bound, one client posting
gigabytes would hold the API's memory for as long as it liked. A body announced larger
than the limit is refused with 413 before a byte of it is read; a chunked one is cut off
at the limit with the same 413, in Unkey's error envelope either way (Starlette's own
body limit answers in plain text). Routes that take larger bodies by design (GitHub's
deliveries, up to GitHub's own 25 MB) enforce their own limit and are `exempt`.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import LIMIT_SCOPE_KEY, PayloadTooLarge, body_too_large, error_response

MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """ASGI middleware: 413 for a body past `max_bytes`, announced or as it arrives."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES, exempt: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        scope[LIMIT_SCOPE_KEY] = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                error = PayloadTooLarge(body_too_large(self.max_bytes))
                response = error_response(Request(scope, receive), error)
                # The body is never read: the connection cannot carry another request.
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # FastAPI passes an HTTPException from reading the body on as it is, to
                # api.errors, which answers it in Unkey's envelope.
                raise HTTPException(413)
            return message

        await self.app(scope, limited, send)
