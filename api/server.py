"""How `python -m api` serves the API: uvicorn with httptools, plus the limits on a
request that uvicorn leaves out.

uvicorn never times out a client that is still sending its request line and headers, and
httptools takes headers of any size: a slowloris client (one header byte every second,
never finishing) holds a connection for as long as it likes, and enough of them hold the
API. Here a request head must be complete within HEAD_TIMEOUT seconds of its first byte
(or of the connection opening) and fit in MAX_HEAD_BYTES, the same bounds the edge's
server enforces for apps: past the time the client gets 408, past the size 431, and the
connection is closed. Bodies are bounded by api.body_limit.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.schemas.base import ErrorBody, ErrorDetails, Meta
from dockyard.ids import new_id

HEAD_TIMEOUT = 30.0
MAX_HEAD_BYTES = 64 * 1024
HEAD_TOO_SLOW = (
    "the request line and headers did not arrive within {seconds:g} seconds; the "
    "connection is closed"
)
HEAD_TOO_LARGE = (
    "the request line and headers are larger than {limit} bytes; send fewer or shorter headers"
)


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head already refused with 431."""


class GuardedHttpTools(HttpToolsProtocol):
    """httptools with a deadline and a size limit on each request's head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0  # parsed: the request line's target and each header
        self._unparsed_bytes = 0  # received while the head is still incomplete
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()  # a connection that never sends a byte is held no longer

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        reading_head = self._head_deadline is not None
        super().data_received(data)
        if not reading_head or self._head_deadline is None or self.transport.is_closing():
            return
        # The head is still incomplete after this chunk (one header sent forever, say).
        self._unparsed_bytes += len(data)
        if self._unparsed_bytes > MAX_HEAD_BYTES:
            self._refuse(431, HEAD_TOO_LARGE.format(limit=MAX_HEAD_BYTES))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_deadline is None:
            self._start_head()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # uvicorn's answer to the parser stopping for HeadTooLarge
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, HEAD_TOO_LARGE.format(limit=MAX_HEAD_BYTES))
            raise HeadTooLarge

    def _start_head(self) -> None:
        self._head_bytes = self._unparsed_bytes = 0
        self._head_deadline = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _end_head(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self._refuse(408, HEAD_TOO_SLOW.format(seconds=HEAD_TIMEOUT))

    def _refuse(self, status: int, detail: str) -> None:
        """Answer in Unkey's error envelope, then close: the request was never read whole."""
        self._end_head()
        self._refused = True
        phrase = HTTPStatus(status).phrase
        body = (
            ErrorBody(
                meta=Meta(request_id=new_id("request")),
                error=ErrorDetails(
                    title=phrase,
                    detail=detail,
                    status=status,
                    type=phrase.lower().replace(" ", "-"),
                ),
            )
            .model_dump_json(by_alias=True, exclude_none=True)
            .encode()
        )
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()


def serve(app: Any, *, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, http=GuardedHttpTools)
