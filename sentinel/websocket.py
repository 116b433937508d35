"""WebSocket connections passed through to an instance.

The edge's server completes the client's handshake; the edge opens its own WebSocket
to the instance (with the client's headers and subprotocols, a fresh key, no
compression: extensions are negotiated per hop) and relays messages both ways until
either side closes, passing the close code on.

Refusals before the handshake completes (unknown host, no instance, the app saying
no) answer with a status and a problem+json body through the ASGI
"websocket.http.response" extension (granian and uvicorn have it), else as a plain 403.
WebSockets are long-lived and rare next to requests, so aiohttp's client serves here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from yarl import URL

from sentinel import problems
from sentinel.balancer import Balancer
from sentinel.headers import upstream_request_headers
from sentinel.proxy import request_target
from sentinel.routing import Route

log = logging.getLogger(__name__)

# Made anew for the instance's hop by aiohttp; subprotocols travel as `protocols`.
HANDSHAKE_HEADERS = frozenset(
    {
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
    }
)
# Close codes that must never be sent in a close frame (RFC 6455 section 7.4.1).
UNSENDABLE_CLOSE_CODES = frozenset({1005, 1006, 1015})


async def deny(scope: Scope, send: Send, response: Response) -> None:
    """Refuse a WebSocket handshake with an HTTP answer, where the server allows one."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": response.body})
    else:
        await send({"type": "websocket.close", "code": 1008})


class WebSocketRelay:
    def __init__(self, balancer: Balancer, *, connect_timeout: float) -> None:
        self._balancer = balancer
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    async def forward(
        self, scope: Scope, receive: Receive, send: Send, route: Route, host: bytes | None
    ) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        upstream = await self._connect(scope, send, route, host)
        if upstream is None:
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.protocol})
        to_app = asyncio.create_task(_client_to_app(receive, upstream))
        to_client = asyncio.create_task(_app_to_client(upstream, send))
        try:
            await asyncio.wait({to_app, to_client}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_app, to_client):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await upstream.close()

    async def _connect(
        self, scope: Scope, send: Send, route: Route, host: bytes | None
    ) -> aiohttp.ClientWebSocketResponse | None:
        client = scope.get("client")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in upstream_request_headers(
                [(n, v) for n, v in scope["headers"] if n not in HANDSHAKE_HEADERS],
                client_ip=client[0] if client else None,
                scheme="https" if scope.get("scheme") == "wss" else "http",
                host=host,
            )
        ]
        target = request_target(scope).decode("latin-1")
        failure: Response = problems.all_instances_failed(route.hostname, route.deployment_id)
        for address in self._balancer.attempt_order(route):
            try:
                return await self._client().ws_connect(
                    URL(f"http://{address}{target}", encoded=True),
                    headers=headers,
                    protocols=scope.get("subprotocols", ()),
                    autoclose=False,
                    compress=0,
                    max_msg_size=0,
                )
            except aiohttp.WSServerHandshakeError as error:
                # The app answered, but not with an upgrade: its status is the answer.
                detail = f"the app answered the WebSocket upgrade with {error.status}"
                status = error.status if error.status >= 400 else 502
                await deny(scope, send, problems.Problem(status, "upgrade_refused", detail))
                return None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
                log.info("instance of %s unreachable: %s", route.hostname, error)
                self._balancer.eject(address)
            except aiohttp.ClientError as error:
                reason = str(error) or type(error).__name__
                failure = problems.upstream_failed(route.hostname, route.deployment_id, reason)
                break
        await deny(scope, send, failure)
        return None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
                cookie_jar=aiohttp.DummyCookieJar(),  # never share one user's cookies
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                trust_env=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _client_to_app(receive: Receive, upstream: aiohttp.ClientWebSocketResponse) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.receive":
            if message.get("text") is not None:
                await upstream.send_str(message["text"])
            else:
                await upstream.send_bytes(message.get("bytes") or b"")
        elif message["type"] == "websocket.disconnect":
            code = message.get("code", 1000)
            await upstream.close(code=1000 if code in UNSENDABLE_CLOSE_CODES else code)
            return


async def _app_to_client(upstream: aiohttp.ClientWebSocketResponse, send: Send) -> None:
    while True:
        message = await upstream.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            await send({"type": "websocket.send", "text": message.data})
        elif message.type == aiohttp.WSMsgType.BINARY:
            await send({"type": "websocket.send", "bytes": message.data})
        elif message.type == aiohttp.WSMsgType.CLOSE:
            code = message.data if message.data not in UNSENDABLE_CLOSE_CODES else 1000
            await send({"type": "websocket.close", "code": code, "reason": message.extra or ""})
            return
        else:  # the connection to the app broke (CLOSED, ERROR)
            await send({"type": "websocket.close", "code": 1011})
            return
