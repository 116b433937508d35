"""`python -m sentinel`: the edge as the rest of dockyard starts it, in its own process,
with the Sentinel replicas it supervises."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from tests.sentinel.conftest import Rows, Upstream, free_port

StartUpstream = Callable[..., Awaitable[Upstream]]
HOST = "shop-acme.localhost"


async def test_python_m_sentinel_serves_routes_from_its_settings_and_stops_on_sigterm(
    rows: Rows, upstreams: StartUpstream, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    shop = await upstreams("shop")
    rows.route(HOST, shop.address)
    port = free_port()
    environment = os.environ | {
        "DOCKYARD_DATABASE_URL": database_url,
        "DOCKYARD_REDIS_URL": redis_url,
        "DOCKYARD_HOME": str(tmp_path),
        "DOCKYARD_EDGE_PORT": str(port),
        "DOCKYARD_BIND_HOST": "127.0.0.1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sentinel", env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            # The edge serves through the environment's Sentinel replicas, which it starts:
            # 503 (no healthy replica yet) for the second or so that takes.
            for _ in range(600):
                async with client.get(
                    f"http://127.0.0.1:{port}/", headers={"Host": HOST}
                ) as response:
                    status, body = response.status, await response.read()
                if status != 503:
                    break
                await asyncio.sleep(0.05)
            assert status == 200
            assert json.loads(body)["instance"] == "shop"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
    assert process.returncode == 0, stderr.decode()
