"""Forward one request to an instance and stream the answer back.

Bodies stream both ways, chunk by chunk: a 1 GB upload or an endless server-sent event
stream costs the edge a bounded buffer, not the body.

Failure handling, decided per attempt:
- connection refused or connect timeout: nothing reached the instance, so it is ejected
  and the next one is tried (unless the request body was already partly read);
- no response head within the read timeout: 504, no retry (the app may be working);
- any other failure before the response started: 502, no retry (the request may have
  had an effect);
- a failure after the response started: the client connection is closed mid-body, the
  only honest signal left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sentinel import problems
from sentinel.balancer import Balancer
from sentinel.headers import downstream_response_headers, upstream_request_headers
from sentinel.policies.chain import with_headers
from sentinel.routing import Route
from sentinel.upstream import UpstreamConnection, UpstreamError, UpstreamTimeout, request_head
from sentinel.upstream_pool import ConnectFailed, UpstreamPool

log = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client hung up while its request body was being read."""


class RequestBody:
    """The client's request body, read from ASGI only as fast as the instance takes it.

    A body that grows past `max_bytes` (chunked, so its size was not announced) ends the
    exchange: the client gets 413 if the instance has not answered yet.
    """

    def __init__(
        self, receive: Receive, headers: list[tuple[bytes, bytes]], max_bytes: int | None = None
    ) -> None:
        self._receive = receive
        self._max_bytes = max_bytes
        self._size = 0
        self.started = False
        self.client_gone = False
        self.too_large = False
        self.chunked = False
        announced = False  # a Content-Length other than 0
        for name, value in headers:
            if name == b"transfer-encoding":
                self.chunked = True
            elif name == b"content-length" and value.strip() != b"0":
                announced = True
        self.complete = not self.chunked and not announced

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        while not self.complete:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                raise ClientGone
            self.complete = not message.get("more_body", False)
            if chunk := message.get("body", b""):
                self._size += len(chunk)
                if self._max_bytes is not None and self._size > self._max_bytes:
                    self.too_large = True
                    raise ClientGone
                yield chunk


def request_target(scope: Scope) -> bytes:
    """Path and query exactly as the client encoded them."""
    path: bytes = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
    query: bytes = scope.get("query_string", b"")
    return b"%b?%b" % (path, query) if query else path


class Proxy:
    def __init__(
        self, pool: UpstreamPool, balancer: Balancer, *, max_body_bytes: int | None = None
    ) -> None:
        self._pool = pool
        self._balancer = balancer
        self._max_body_bytes = max_body_bytes

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        host: bytes | None,
        added: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """`added`: response headers for the client besides the instance's (the policies')."""
        body = RequestBody(receive, scope["headers"], self._max_body_bytes)
        client = scope.get("client")
        headers = upstream_request_headers(
            scope["headers"],
            client_ip=client[0] if client else None,
            scheme=scope.get("scheme", "http"),
            host=host,
            chunked=body.chunked,
        )
        method = scope["method"].encode("ascii")
        head = request_head(method, request_target(scope), headers)
        timed_out = False
        for address in self._balancer.attempt_order(route):
            try:
                upstream, sender = await self._pool.request(
                    address,
                    head,
                    method=method,
                    body=None if body.complete else body.chunks(),
                    chunked=body.chunked,
                )
            except ConnectFailed as error:
                # Nothing reached the instance: skip it for a while, try another one.
                log.info("instance of %s unreachable: %s", route.hostname, error)
                self._balancer.eject(address)
                timed_out = timed_out or error.timed_out
                if body.started:
                    break  # the body is partly consumed and cannot be replayed
                continue
            except UpstreamTimeout:
                seconds = self._pool.read_timeout
                problem = problems.upstream_timeout(route.hostname, route.deployment_id, seconds)
                await _answer(problem, scope, receive, send, added)
                return
            except UpstreamError as error:
                if body.too_large:
                    problem = problems.body_too_large(self._max_body_bytes or 0)
                    await _answer(problem, scope, receive, send, added)
                    return
                if body.client_gone:
                    return
                reason = str(error)
                problem = problems.upstream_failed(route.hostname, route.deployment_id, reason)
                await _answer(problem, scope, receive, send, added)
                return
            self._balancer.restore(address)
            try:
                await _relay(upstream, receive, send, body, added)
            finally:
                if sender is not None and not sender.done():
                    # The instance answered without reading the whole body.
                    sender.cancel()
                    upstream.close()
                self._pool.release(address, upstream)
            return
        if timed_out:
            seconds = self._pool.connect_timeout
            problem = problems.upstream_timeout(route.hostname, route.deployment_id, seconds)
        else:
            problem = problems.all_instances_failed(route.hostname, route.deployment_id)
        await _answer(problem, scope, receive, send, added)


async def _answer(
    problem: Response,
    scope: Scope,
    receive: Receive,
    send: Send,
    added: list[tuple[bytes, bytes]] | None,
) -> None:
    await problem(scope, receive, with_headers(added, send) if added else send)


async def _relay(
    upstream: UpstreamConnection,
    receive: Receive,
    send: Send,
    body: RequestBody,
    added: list[tuple[bytes, bytes]] | None,
) -> None:
    headers = downstream_response_headers(upstream.headers)
    if added:
        headers.extend(added)
    await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
    watcher: asyncio.Task[None] | None = None
    try:
        chunk = await upstream.read()
        # Most responses arrive whole in the first read: one send, no watcher task.
        while not upstream.drained:
            if watcher is None and body.complete:
                # A long response: stop reading the instance once the client is gone,
                # since the server drops what is sent after a disconnect.
                watcher = asyncio.create_task(_close_on_disconnect(receive, upstream))
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunk = await upstream.read()
        await send({"type": "http.response.body", "body": chunk, "more_body": False})
    except UpstreamError as error:
        if watcher is None or not watcher.done():
            log.warning("response from instance cut short: %s", error)
        # Returning without the final body message makes the server close the client
        # connection: a truncated body must not look complete.
        upstream.close()
    except BaseException:
        upstream.close()
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _close_on_disconnect(receive: Receive, upstream: UpstreamConnection) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    upstream.close(UpstreamError("the client disconnected"))
