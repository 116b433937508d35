"""A Sentinel replica: one environment's gateway, in a process of its own.

    python -m sentinel.replica --environment env_123 --port 24001 [--slot 0]

It is the same Edge as the edge (routing, proxy, WebSocket relay) with three differences:
it routes only its environment's hostnames, runs their deployments' policies
(sentinel.policies.gateway), and trusts X-Forwarded-For/-Proto because its only peer is
dockyard's edge (it listens on the edge's bind address, as instances do). Started,
health-checked and restarted by the edge (sentinel.supervisor); it exits by itself
when that edge is gone.

Everything it knows it read itself, from the database and Redis: routes and compiled
policies (reloaded on route notices and every second), keys (cached, dropped on key
notices). When the database is unreachable it keeps serving its last routes, policies
and keys; when Redis is, see sentinel.key_cache and sentinel.limits. `GET /healthz`
on an IP host says which: {"status": "ok" | "degraded", "redis", "ratelimits", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from typing import Any

import uvloop
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.analytics.records import GATEWAY, stream_name
from dockyard.analytics.shipper import Shipper
from dockyard.db import make_engine, make_sessionmaker
from dockyard.key_events import KEYS_CHANNEL
from dockyard.keyspaces import DeploymentPolicies
from dockyard.models import Deployment
from dockyard.settings import Settings, load_settings
from dockyard.verification import load_key, now_ms, spend_credits
from sentinel.app import Edge
from sentinel.key_cache import KeyCache
from sentinel.limits import Limiter
from sentinel.logged import edge_for
from sentinel.options import EdgeOptions
from sentinel.policies.gateway import Gateway
from sentinel.redis_pipe import RedisPipe
from sentinel.route_events import follow
from sentinel.route_loader import load_route_table
from sentinel.routing import RouteTable
from sentinel.server import serve
from sentinel.traffic import TrafficRecorder
from sentinel.wake_workflow import replica_waker

log = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 1.0


def load_replica_routes(
    sessions: sessionmaker[Session], gateway: Gateway, *, region: str
) -> RouteTable:
    """The environment's routes, after compiling the policies of any new deployment."""
    table = load_route_table(sessions, region=region, environment_id=gateway.environment_id)
    deployments = {route.deployment_id for route in table.routes.values()}
    new = [d for d in deployments if not gateway.knows(d)]
    if new:
        with sessions() as session:
            frozen: dict[str, list[Any]] = {
                deployment_id: policies
                for deployment_id, policies in session.execute(
                    select(DeploymentPolicies.deployment_id, DeploymentPolicies.policies).where(
                        DeploymentPolicies.deployment_id.in_(new)
                    )
                )
            }
            runtimes: dict[str, dict[str, Any]] = {
                deployment_id: runtime
                for deployment_id, runtime in session.execute(
                    select(Deployment.id, Deployment.runtime).where(Deployment.id.in_(new))
                )
            }
        for deployment_id in new:
            spec_path = (runtimes.get(deployment_id) or {}).get("openapi_spec_path")
            gateway.install(deployment_id, list(frozen.get(deployment_id) or []), spec_path)
    gateway.keep_only(deployments)
    return table


def create_replica(
    settings: Settings,
    environment_id: str,
    *,
    slot: int = 0,
    sessions: sessionmaker[Session] | None = None,
    options: EdgeOptions | None = None,
) -> Edge:
    engine = None
    if sessions is None:
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
    bound = sessions
    redis_url = settings.redis_url or None
    pipe = RedisPipe(redis_url) if redis_url else None
    limiter = Limiter(pipe)

    def read_key(key_hash: str) -> Any:
        with bound() as session:
            return load_key(session, key_hash)

    def spend(key_id: str, cost: int) -> tuple[bool, int | None]:
        with bound() as session:
            return spend_credits(session, key_id, cost, now_ms=now_ms())

    keys = KeyCache(read_key)
    gateway = Gateway(
        environment_id=environment_id, keys=keys, limiter=limiter, spend_credits=spend
    )
    tasks = [limiter.run]
    traffic = TrafficRecorder(redis_url) if redis_url else None
    if traffic is not None:
        tasks.append(traffic.run)
    request_log = None
    if redis_url and settings.request_log:
        stream = stream_name(settings.analytics_stream, GATEWAY)
        request_log = Shipper(redis_url, stream, bound=settings.analytics_queue)
        tasks.append(request_log.run)
    if redis_url:

        async def follow_keys() -> None:
            def pushed(state: bool) -> None:
                keys.pushed = state

            await follow(redis_url, {KEYS_CHANNEL: keys.changed}, on_state=pushed)

        tasks.append(follow_keys)

    def health() -> dict[str, Any]:
        shared = keys.pushed and limiter.shared
        return {
            "status": "ok" if shared else "degraded",
            "environment": environment_id,
            "replica": slot,
            "redis": "ok" if keys.pushed else "unreachable",
            "ratelimits": "shared" if shared else "per-replica",
            "keyCache": {"entries": len(keys), "invalidation": "push" if keys.pushed else "poll"},
            "requestLog": request_log.stats() if request_log is not None else "off",
        }

    def close() -> None:
        if pipe is not None:
            pipe.close()
        if engine is not None:
            engine.dispose()

    return edge_for(environment_id, request_log)(
        load_routes=lambda: load_replica_routes(bound, gateway, region=settings.region),
        region=settings.region,
        redis_url=redis_url,
        options=options,
        policies=gateway,
        on_shutdown=close,
        trust_forwarded=True,
        health=health,
        on_request=traffic.saw if traffic is not None else None,
        tasks=tasks,
        waker=replica_waker(settings, bound),
    )


async def _exit_with_parent(parent: int) -> None:
    """A replica outliving its edge would hold its port and serve stale routes forever."""
    while os.getppid() == parent:  # noqa: ASYNC110 - no event tells a parent is gone
        await asyncio.sleep(PARENT_CHECK_SECONDS)
    log.warning("the edge that started this replica is gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)


async def _serve(edge: Edge, host: str, port: int, parent: int | None) -> None:
    watcher = asyncio.create_task(_exit_with_parent(parent)) if parent else None
    try:
        await serve(edge, host=host, port=port)
    finally:
        if watcher is not None:
            watcher.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinel.replica", description=__doc__)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args(argv)
    settings = load_settings()
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s {args.environment}/{args.slot} %(name)s %(message)s",
    )
    edge = create_replica(settings, args.environment, slot=args.slot)
    uvloop.run(_serve(edge, settings.bind_host, args.port, args.parent or None))


if __name__ == "__main__":
    main()
