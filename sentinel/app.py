"""The edge as one ASGI application: lifespan, its own endpoints, and the proxy path.

Requests whose Host is an IP literal (or missing) are the edge's own: no domain can be
an IP address, so these paths can never shadow an app's. There the edge serves
`GET /healthz`: 200 with a JSON summary once routes are loaded, 503 before that.
Every other request is routed by its Host to the deployment the domain points at,
runs the policy chain, and is forwarded (HTTP by sentinel.proxy, WebSocket by
sentinel.websocket).

The hot path is plain ASGI on purpose: a Starlette Request is built only when a policy
needs one, and responses are streamed with raw send calls (measured in bench/edge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from sentinel import problems
from sentinel.balancer import Balancer
from sentinel.headers import adopt_forwarded
from sentinel.options import EdgeOptions
from sentinel.paths import resolve_in_scope
from sentinel.policies.chain import PolicyChain, prepare, with_headers
from sentinel.proxy import Proxy
from sentinel.route_events import follow_route_changes
from sentinel.route_keeper import RouteKeeper
from sentinel.routing import Route, RouteTable, is_ip_literal, normalize_host
from sentinel.upstream_pool import UpstreamPool
from sentinel.wake import Waker
from sentinel.websocket import WebSocketRelay, deny

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Where _http leaves the request's hostname in the scope, for what watches requests
# (sentinel.logged) to read rather than parse the Host header again.
HOST_SLOT = "dockyard.host"
# How long startup waits for the first table before serving (404s) and loading later.
FIRST_LOAD_WAIT = 5.0


def _host_header(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return None


def _malformed(scope: Scope) -> Response | None:
    """A request the edge answers itself, before routing: one with two Hosts (which one
    is meant? RFC 9112 section 3.2 says 400), or a path whose `..` climbs above the root.
    Any other path leaves with its dot segments resolved, so the policies match the path
    the app will serve."""
    if sum(1 for name, _ in scope["headers"] if name == b"host") > 1:
        return problems.Problem(400, "duplicate_host", problems.DUPLICATE_HOST)
    if not resolve_in_scope(scope):
        return problems.Problem(400, "invalid_path", problems.PATH_ABOVE_ROOT)
    return None


class Edge:
    def __init__(
        self,
        *,
        load_routes: Callable[[], RouteTable],
        region: str,
        redis_url: str | None,
        options: EdgeOptions | None = None,
        policies: PolicyChain | None = None,
        on_shutdown: Callable[[], None] | None = None,
        trust_forwarded: bool = False,
        health: Callable[[], dict[str, Any]] | None = None,
        on_request: Callable[[Route], None] | None = None,
        tasks: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        waker: Waker | None = None,
    ) -> None:
        """`trust_forwarded`: the peer is dockyard's edge, so X-Forwarded-For/Proto name the
        client (a Sentinel replica). `health` adds fields to /healthz; `on_request` sees
        every routed request (traffic recording); `tasks` run from start to stop
        (cancelled at stop); `waker` holds HTTP requests to a stopped preview while it
        wakes (sentinel.wake)."""
        self.options = options or EdgeOptions()
        self.region = region
        self.routes = RouteKeeper(load_routes, poll_interval=self.options.poll_interval)
        self.balancer = Balancer(eject_seconds=self.options.eject_seconds)
        self.policies = policies or PolicyChain()
        self._redis_url = redis_url
        self._on_shutdown = on_shutdown
        self._trust_forwarded = trust_forwarded
        self._health = health
        self._on_request = on_request
        self._extra_tasks = tuple(tasks)
        self._waker = waker
        self._pool: UpstreamPool | None = None
        self._proxy: Proxy | None = None
        self._websockets = WebSocketRelay(
            self.balancer, connect_timeout=self.options.connect_timeout
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _route(self, host: str) -> Route | Response:
        """The route for a host, or the problem that answers instead."""
        route = self.routes.table.lookup(host)
        if route is None:
            return problems.unknown_host(host)
        if not route.has_instances:
            return problems.no_healthy_instance(host, route.deployment_id)
        return route

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        malformed = _malformed(scope)
        if malformed is not None:
            await malformed(scope, receive, send)
            return
        host_header = _host_header(scope)
        host = normalize_host(host_header.decode("latin-1")) if host_header else ""
        if not host or is_ip_literal(host):
            await self._own_endpoint(scope, host)(scope, receive, send)
            return
        if self._trust_forwarded:
            adopt_forwarded(scope)
        scope[HOST_SLOT] = host
        route = self.routes.table.lookup(host)
        if route is None or not route.has_instances:
            woken = await self._unserved(host, route)
            if isinstance(woken, Response):
                await woken(scope, receive, send)
                return
            route = woken
        too_large = self._too_large(scope)
        if too_large is not None:
            await too_large(scope, receive, send)
            return
        if self._on_request is not None:
            self._on_request(route)
        added: list[tuple[bytes, bytes]] = []
        if self.policies:
            rejection = await self.policies.evaluate(Request(scope, receive), route)
            receive, send, added = prepare(scope, receive, send)
            if rejection is not None:
                await rejection(scope, receive, with_headers(added, send) if added else send)
                return
        assert self._proxy is not None, "the edge serves requests only after its lifespan start"
        await self._proxy.forward(scope, receive, send, route, host_header, added)

    async def _unserved(self, host: str, route: Route | None) -> Route | Response:
        """A host with no route, or whose deployment runs no instance: the problem that
        answers, or, for a stopped preview that wakes, its route once it serves."""
        if route is not None and self._waker is not None:
            return await self._waker.hold(self.routes, host, route)
        return self._route(host)

    def _too_large(self, scope: Scope) -> Response | None:
        """413 for a body announced larger than the limit; a chunked body is cut instead."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.options.max_body_bytes:
                    return problems.body_too_large(self.options.max_body_bytes)
                return None
        return None

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        malformed = _malformed(scope)
        if malformed is not None:
            await deny(scope, send, malformed)
            return
        host_header = _host_header(scope)
        host = normalize_host(host_header.decode("latin-1")) if host_header else ""
        if self._trust_forwarded:
            adopt_forwarded(scope)
        route: Route | Response | None = None
        if host and not is_ip_literal(host):
            route = self.routes.table.lookup(host)
            if route is None or not route.has_instances:
                route = await self._unserved(host, route)  # a stopped preview wakes
        if not isinstance(route, Route):
            await deny(scope, send, route or problems.unknown_host(host))
            return
        if self.policies:
            rejection = await self.policies.evaluate(WebSocket(scope, receive, send), route)
            if rejection is not None:
                await deny(scope, send, rejection)
                return
        await self._websockets.forward(scope, receive, send, route, host_header)

    def _own_endpoint(self, scope: Scope, host: str) -> Response:
        if scope["path"] != HEALTH_PATH or scope["method"] not in ("GET", "HEAD"):
            return problems.unknown_host(host)
        if not self.routes.loaded:
            return problems.Problem(503, "routes_not_loaded", problems.ROUTES_NOT_LOADED)
        table = self.routes.table
        body: dict[str, Any] = {
            "status": "ok",
            "region": self.region,
            "hosts": len(table),
            "routesAgeSeconds": round(time.time() - table.loaded_at, 3),
            "routesAsOf": table.loaded_at,  # changes committed before this time are served
        }
        if self._health is not None:
            body.update(self._health())
        return JSONResponse(body, headers={"cache-control": "no-store"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        self._pool = UpstreamPool(
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            keepalive_seconds=self.options.keepalive_seconds,
        )
        self._proxy = Proxy(self._pool, self.balancer, max_body_bytes=self.options.max_body_bytes)
        # Serve with a table when the DB answers; when it does not, start anyway (an
        # edge that cannot start is worse than one that answers 404 for a few seconds).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.routes.reload(), timeout=FIRST_LOAD_WAIT)
        self._tasks.append(asyncio.create_task(self.routes.run(), name="sentinel-routes"))
        if self._redis_url:
            follow = follow_route_changes(
                self._redis_url,
                self.routes.changed,
                retry_seconds=self.options.redis_retry_seconds,
            )
            self._tasks.append(asyncio.create_task(follow, name="sentinel-route-events"))
        for task in self._extra_tasks:
            self._tasks.append(asyncio.create_task(task(), name=getattr(task, "__name__", "task")))
        # The edge's supervisor already logs each replica that serves: this would repeat it.
        log.debug("gateway started in region %s with %d hosts", self.region, len(self.routes.table))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        await self._websockets.aclose()
        if self._waker is not None:
            await self._waker.aclose()
        if self._on_shutdown is not None:
            self._on_shutdown()
