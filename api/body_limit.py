"""The most a request body may weigh.

Every operation's body is a small JSON document; without a bound, one client posting
gigabytes would hold the API's memory for as long as it liked. A body announced larger
than the limit is refused with 413 before a byte of it is read; a chunked one is cut off
at the limit with the same 413, in Unkey's error envelope either way (Starlette's own
body limit answers in plain text). Routes that take larger bodies by design (GitHub's
deliveries, up to GitHub's own 25 MB) enforce their own limit and are `exempt`.

A body must also arrive whole within BODY_SECONDS of the first read: a client trickling
one byte a second (slowloris, after the head) gets 408 and the connection is closed,
instead of holding it for as long as it likes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import LIMIT_SCOPE_KEY, PayloadTooLarge, body_too_large, error_response

MAX_BODY_BYTES = 1024 * 1024
BODY_SECONDS = 30.0
BODY_TOO_SLOW = "the request body did not arrive within {seconds:g} seconds"


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
        deadline: float | None = None
        complete = False

        async def limited() -> Message:
            nonlocal received, deadline, complete
            if complete:  # later reads only wait for the client to disconnect
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + BODY_SECONDS
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                detail = BODY_TOO_SLOW.format(seconds=BODY_SECONDS)
                raise HTTPException(408, detail, headers={"connection": "close"}) from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # FastAPI passes an HTTPException from reading the body on as it is, to
                # api.errors, which answers it in Unkey's envelope.
                raise HTTPException(413)
            return message

        await self.app(scope, limited, send)
