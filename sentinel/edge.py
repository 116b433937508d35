"""The region edge: Caddy in front, Sentinel replicas behind it, kept in step.

`python -m sentinel` runs one RegionEdge per region. It owns three things:
- Caddy (sentinel.caddy), the process that terminates TLS and routes each hostname to
  its environment's replicas (sentinel.caddy_config says how);
- the Sentinel replicas of every environment (sentinel.supervisor), the one Python hop
  of a request, where the environment's policies run;
- the sync between them and the database: the domains of each environment and the
  addresses of its replicas become one Caddy route per environment. It runs on every
  route notice (Redis), on every replica change, and at least every second; each run
  reads the database once and sends Caddy only the routes that changed.

Its control endpoint listens on loopback (Settings.edge_control_port), for dockyard's
own processes:
    GET /healthz                              the edge's state; 503 unless Caddy is up
    GET /environments/{id}/routes             {"routesAsOf": t | null}
    GET /metrics                              Prometheus text: every replica's series
routesAsOf is the time of the oldest database read that Caddy's route and every wanted
replica of the environment were built from; null while a replica is not up. A region
worker waits for it to pass the moment a deployment's routes flipped before it calls
the deployment ready, so the first request after `ready` is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections import defaultdict
from typing import Any

import httpx
import uvloop
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from dockyard.db import make_engine, make_sessionmaker
from dockyard.settings import Settings, load_settings, settings_environment
from sentinel import metrics
from sentinel.caddy import Caddy, CaddyError
from sentinel.caddy_config import (
    EnvironmentRoute,
    Listeners,
    changed_routes,
    environment_route,
    full_config,
    route_id,
    routed_servers,
)
from sentinel.route_events import follow_route_changes
from sentinel.route_loader import routable_domains
from sentinel.supervisor import Supervisor, wanted_replicas

log = logging.getLogger(__name__)

SYNC_INTERVAL = 1.0
LISTEN_BACKLOG = 4096


def environment_hosts(sessions: sessionmaker[Session]) -> tuple[float, dict[str, tuple[str, ...]]]:
    """(when the read began, environment id -> its routable hostnames)."""
    read_at = time.time()  # before the read: it holds every change committed earlier
    with sessions() as session:
        domains = routable_domains(session)
    hosts: defaultdict[str, list[str]] = defaultdict(list)
    for hostname, (_, environment_id) in domains.items():
        hosts[environment_id].append(hostname)
    return read_at, {env: tuple(sorted(names)) for env, names in hosts.items()}


def replica_host(settings: Settings) -> str:
    """Replicas listen where Caddy reaches them: loopback unless bound to one address."""
    return settings.bind_host if settings.bind_host not in ("0.0.0.0", "::") else "127.0.0.1"


def open_sockets(
    settings: Settings,
) -> tuple[socket.socket, ...] | tuple[socket.socket, None, None]:
    """The edge's listening sockets: HTTP, and unless TLS is off, HTTPS and HTTP/3 (UDP)."""
    bind = settings.edge_bind_host
    host = "" if bind in ("0.0.0.0", "::") else bind
    dual = bind == "::" and socket.has_dualstack_ipv6()
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET

    def tcp(port: int) -> socket.socket:
        return socket.create_server(
            (host, port), family=family, backlog=LISTEN_BACKLOG, dualstack_ipv6=dual
        )

    http = tcp(settings.edge_port)
    if settings.tls == "off":
        return http, None, None
    quic = socket.socket(family, socket.SOCK_DGRAM)
    if dual:
        quic.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    quic.bind((host, settings.edge_https_port))
    return http, tcp(settings.edge_https_port), quic


class RegionEdge:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self._sessions = sessions
        self.metrics_dir = metrics.fresh_directory(metrics.metrics_directory(settings))
        self.supervisor = Supervisor(
            wanted=lambda: wanted_replicas(sessions),
            environment={
                **os.environ,
                **settings_environment(settings),
                **metrics.replica_environment(self.metrics_dir),
                "PYTHONUNBUFFERED": "1",
            },
            host=replica_host(settings),
            on_change=self.changed,
        )
        self._sockets = open_sockets(settings)
        http, https, quic = self._sockets
        self.listeners = Listeners(
            http.fileno(), https.fileno() if https else None, quic.fileno() if quic else None
        )
        self.caddy = Caddy(
            admin_port=settings.edge_admin_port,
            home=settings.home.resolve() / "caddy",
            current_config=self.caddy_config,
            inherit=[sock.fileno() for sock in self._sockets if sock is not None],
        )
        self.control_url = f"http://127.0.0.1:{settings.edge_control_port}"
        self._applied: dict[str, EnvironmentRoute] = {}
        self._as_of: dict[str, float] = {}
        self._synced_at: float | None = None
        self._changed = asyncio.Event()
        self._failing = False

    def changed(self) -> None:
        """Something that routes depend on changed: sync now rather than at the next poll."""
        self._changed.set()

    def caddy_config(self) -> dict[str, Any]:
        return full_config(
            self.settings,
            self._applied.values(),
            storage=self.settings.home.resolve() / "caddy" / "data",
            control_url=self.control_url,
            listeners=self.listeners,
        )

    def routes_as_of(self, environment_id: str) -> float | None:
        edge = self._as_of.get(environment_id)
        replicas = self.supervisor.routes_as_of(environment_id)
        if edge is None or replicas is None:
            return None
        return min(edge, replicas)

    def _wanted(self, hosts: dict[str, tuple[str, ...]]) -> dict[str, EnvironmentRoute]:
        routes = {}
        for environment_id, names in hosts.items():
            replicas = self.supervisor.assigned(environment_id)
            if replicas:
                routes[environment_id] = EnvironmentRoute(environment_id, names, replicas)
        return routes

    async def sync(self) -> bool:
        """Read the domains once and send Caddy the routes that changed. True when done."""
        try:
            read_at, hosts = await asyncio.to_thread(environment_hosts, self._sessions)
        except Exception as error:
            # The database blinked: Caddy keeps the routes it has.
            if not self._failing:
                log.warning("domains not read, the edge keeps its routes: %s", error)
            self._failing = True
            return False
        wanted = self._wanted(hosts)
        put, gone = changed_routes(self._applied, wanted)
        servers = routed_servers(self.settings)
        try:
            for route in put:
                for server in servers:
                    await self.caddy.put_route(server, environment_route(server, route))
                self._applied[route.environment_id] = route
            for environment_id in gone:
                for server in servers:
                    await self.caddy.delete_route(route_id(server, environment_id))
                del self._applied[environment_id]
        except (CaddyError, httpx.TransportError) as error:
            if not self._failing:
                log.warning("caddy did not take the routes, trying again: %s", error)
            self._failing = True
            return False
        if self._failing:
            log.warning("routes sync again (%d environments)", len(wanted))
        self._failing = False
        self._as_of = dict.fromkeys(wanted, read_at)
        self._synced_at = read_at
        return True

    async def _keep_synced(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=SYNC_INTERVAL)
            self._changed.clear()  # before the sync: a change meanwhile means one more
            await self.sync()

    async def _first_routes(self) -> None:
        """Replicas get their ports and Caddy its routes before it starts listening."""
        while not self.supervisor.loaded:  # noqa: ASYNC110 - the supervisor sets it once
            await asyncio.sleep(0.05)
        try:
            read_at, hosts = await asyncio.to_thread(environment_hosts, self._sessions)
        except Exception as error:
            log.warning("domains not read yet, the edge starts with none: %s", error)
            return
        self._applied = self._wanted(hosts)
        self._as_of = dict.fromkeys(self._applied, read_at)
        self._synced_at = read_at

    def control_app(self) -> web.Application:
        async def healthz(_: web.Request) -> web.Response:
            serving = self._synced_at is not None and self.caddy.up
            body = {
                "status": "ok" if serving else "starting",
                "region": self.settings.region,
                "environments": len(self._applied),
                "routesAsOf": self._synced_at,
                "caddy": {"pid": self.caddy.pid, "starts": self.caddy.starts},
                **self.supervisor.summary(),
            }
            return web.json_response(body, status=200 if serving else 503)

        async def environment_routes(request: web.Request) -> web.Response:
            environment_id = request.match_info["environment_id"]
            return web.json_response({"routesAsOf": self.routes_as_of(environment_id)})

        own = metrics.EdgeCollector(
            self.settings.region,
            fork_starts=lambda: self.supervisor.forks.starts,
            healthy=lambda: len([r for r in self.supervisor.replicas.values() if r.healthy]),
        )

        async def scrape(_: web.Request) -> web.Response:
            body = await asyncio.to_thread(metrics.exposition, self.metrics_dir, own)
            return web.Response(body=body, headers={"content-type": metrics.CONTENT_TYPE})

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/metrics", scrape)
        app.router.add_get("/environments/{environment_id}/routes", environment_routes)
        return app

    async def run(self) -> None:
        """Run until cancelled; Caddy and every replica stop with it."""
        control = web.AppRunner(self.control_app(), access_log=None)
        await control.setup()
        await web.TCPSite(control, "127.0.0.1", self.settings.edge_control_port).start()
        async with asyncio.TaskGroup() as tasks:
            background = [tasks.create_task(self.supervisor.run())]
            try:
                await self._first_routes()
                await self.caddy.start()
                background.append(tasks.create_task(self.caddy.keep_running()))
                background.append(tasks.create_task(self._keep_synced()))
                if self.settings.redis_url:
                    background.append(
                        tasks.create_task(
                            follow_route_changes(self.settings.redis_url, self.changed)
                        )
                    )
                log.info(
                    "edge serving on %s (http %d, https %d, tls %s)",
                    self.settings.edge_bind_host,
                    self.settings.edge_port,
                    self.settings.edge_https_port,
                    self.settings.tls,
                )
                await asyncio.Event().wait()
            finally:
                await self.caddy.stop()
                for task in background:
                    task.cancel()
                await control.cleanup()
                for sock in self._sockets:
                    if sock is not None:
                        sock.close()


async def _serve_until_signalled(edge: RegionEdge) -> None:
    loop = asyncio.get_running_loop()
    running = asyncio.current_task()
    assert running is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await edge.run()


def main() -> None:
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per admin API call
    engine = make_engine(settings.database_url)
    try:
        uvloop.run(_serve_until_signalled(RegionEdge(settings, make_sessionmaker(engine))))
    finally:
        engine.dispose()
