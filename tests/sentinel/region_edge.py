"""The region edge (`python -m sentinel`) in its own process, as tests start it: Caddy in
front, its Sentinel replicas behind, the API beside it (Caddy asks it before issuing)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dockyard.cli.dev import caddy_root, private_edge_ports
from dockyard.settings import Settings, settings_environment
from tests.api.conftest import serve


@dataclass
class RunningEdge:
    settings: Settings
    process: asyncio.subprocess.Process
    stderr: str = field(default="", init=False)

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.settings.edge_control_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.settings.edge_port}"

    def https_client(self, roots_pem: str | None = None) -> httpx.AsyncClient:
        """A client trusting the edge's own CA, or the given roots (an ACME CA's)."""
        if roots_pem is None:
            trusted = ssl.create_default_context(cafile=str(caddy_root(self.settings)))
        else:
            trusted = ssl.create_default_context(cadata=roots_pem)
        return httpx.AsyncClient(verify=trusted, timeout=30)

    async def https_get(
        self, client: httpx.AsyncClient, host: str, path: str = "/"
    ) -> httpx.Response:
        return await client.get(
            f"https://127.0.0.1:{self.settings.edge_https_port}{path}",
            headers={"Host": host},
            extensions={"sni_hostname": host},
        )

    def handshake(self, host: str, context: ssl.SSLContext) -> str | None:
        """A TLS handshake for `host` (SNI) on the HTTPS port; the protocol ALPN chose."""
        context.set_alpn_protocols(["h2", "http/1.1"])
        address = ("127.0.0.1", self.settings.edge_https_port)
        with (
            socket.create_connection(address, timeout=30) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.selected_alpn_protocol()

    async def stop(self) -> None:
        """SIGTERM, then wait for the edge to exit; its stderr is kept in `stderr`."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=30)
        self.stderr += (stderr or b"").decode()

    async def health(self) -> dict[str, Any]:
        """The edge's /healthz once it answers 200 (once Caddy has its first routes)."""
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    response = await client.get(self.control + "/healthz")
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 200:
                    health: dict[str, Any] = response.json()
                    return health
                assert self.process.returncode is None, "the edge exited"
                await asyncio.sleep(0.05)


@asynccontextmanager
async def region_edge(
    database_url: str, redis_url: str, home: Path, **overrides: Any
) -> AsyncIterator[RunningEdge]:
    """The API and the edge on one database; the edge stops (SIGTERM) at the end."""
    settings = Settings(
        home=home,
        database_url=database_url,
        redis_url=redis_url,
        **(private_edge_ports() | overrides),
    )
    with serve(settings) as api:
        async with edge_process(settings, api.url) as edge:
            yield edge


@asynccontextmanager
async def edge_process(settings: Settings, api_url: str) -> AsyncIterator[RunningEdge]:
    environment = os.environ | settings_environment(settings) | {"DOCKYARD_API_URL": api_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sentinel", env=environment, stderr=asyncio.subprocess.PIPE
    )
    edge = RunningEdge(settings, process)
    try:
        yield edge
    finally:
        if process.returncode is None:
            await edge.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
