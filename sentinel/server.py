"""Build Sentinel's routing-and-proxy core from Settings and serve it.

`create_edge` builds the core alone, straight to instances: what each replica runs (with
its environment's policies, sentinel.replica) and what its own tests drive. The region
edge in front of the replicas is Caddy (sentinel.edge).

The HTTP server is granian (Rust, HTTP/1.1 only here), embedded in this process's uvloop
event loop so the edge object built from the settings read at start is the one served.
(granian calls its embedded mode experimental; it is the same Rust server and ASGI glue
its worker processes run, minus process supervision, which dockyard's own process
manager or compose provides.) Measured with bench/edge.py on this project's 2-core
machines, granian carried the same edge about 1.3-1.9x the requests of
uvicorn+httptools. uvicorn stays as the fallback where granian is not installed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dockyard.db import make_engine, make_sessionmaker
from dockyard.settings import Settings
from sentinel.app import Edge
from sentinel.options import EdgeOptions
from sentinel.policies.chain import PolicyChain
from sentinel.route_loader import load_route_table
from sentinel.routing import RouteTable

log = logging.getLogger(__name__)

# granian's I/O thread needs the GIL to hand each new request to the event loop; behind
# a busy loop it waits for the interpreter's switch interval (5 ms by default), which
# showed up whole in the p99 under load. A shorter interval bounds that wait.
GIL_SWITCH_SECONDS = 0.0005
HEADER_READ_TIMEOUT_MS = 30_000


def create_edge(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    options: EdgeOptions | None = None,
    policies: PolicyChain | None = None,
) -> Edge:
    """The edge for these settings; it opens its own engine unless given sessions."""
    engine = None
    if sessions is None:
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
    region = settings.region
    bound = sessions

    def load() -> RouteTable:
        return load_route_table(bound, region=region)

    return Edge(
        load_routes=load,
        region=region,
        redis_url=settings.redis_url or None,
        options=options,
        policies=policies,
        on_shutdown=engine.dispose if engine is not None else None,
    )


def granian_server(edge: Edge, *, host: str, port: int) -> Any:
    """A granian server for the edge, to `await server.serve()` and end with stop()."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server.embed import Server

    server = Server(
        edge,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        # A client gets this long to send its request head, then the connection is
        # closed: a slowloris client ties up one socket for 30 s at most.
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS),
        websockets=True,
        backlog=1024,
        log_access=False,
        log_level=LogLevels.warning,
    )

    # granian warns at every start that its embedded mode is experimental: once per
    # replica, about a choice the module docstring explains, with nothing to act on.
    def not_experimental(record: logging.LogRecord) -> bool:
        return record.getMessage() != "Embedded server is experimental!"

    granian_log = logging.getLogger("_granian")  # configured by the Server built above
    if not any(getattr(f, "__name__", "") == "not_experimental" for f in granian_log.filters):
        granian_log.addFilter(not_experimental)
    return server


def settle_for_latency() -> None:
    """Tune this process for steady request latency; for the processes that serve.

    Everything imported and built so far (SQLAlchemy, the ASGI stack, the edge) lives as
    long as the process: frozen, the collector stops walking it, and the full collections
    that did so (tens of ms each, several per second under load) leave the tail latency.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


async def serve(edge: Edge, *, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    settle_for_latency()
    try:
        server = granian_server(edge, host=host, port=port)
    except ImportError:
        log.warning("granian is not installed: serving with uvicorn, which is slower")
        await _serve_with_uvicorn(edge, host=host, port=port)
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, server.stop)
    await server.serve()


async def _serve_with_uvicorn(edge: Edge, *, host: str, port: int) -> None:
    await uvicorn_server(edge, host=host, port=port).serve()


def uvicorn_server(edge: Edge, *, host: str, port: int) -> Any:
    """The fallback server: `await server.serve()`, end with `server.should_exit = True`."""
    import uvicorn

    config = uvicorn.Config(
        edge,
        host=host,
        port=port,
        http="httptools",
        lifespan="on",
        access_log=False,
        # uvicorn would take the client address from X-Forwarded-For sent by local
        # peers; the edge decides about those headers itself (sentinel.headers).
        proxy_headers=False,
        # The instance's own Server and Date headers pass through; uvicorn would add
        # a second copy of each.
        server_header=False,
        date_header=False,
        log_config=None,
    )
    return uvicorn.Server(config)
