"""A control plane on this machine, region hosts in network namespaces beside it.

The control plane (Temporal, PostgreSQL, a password-protected Redis, the API) listens on
loopback; each region host reaches it over its veth link, through socat forwarders bound to
the control plane's end of that link only. The control plane's own worker also serves the
first region, on this machine's engine, with that region's edge: one region here, the
others on their hosts, as a user with one server per region runs it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

from dockyard.bootstrap import bootstrap
from dockyard.cli.client import ApiClient
from dockyard.cli.dev import free_port, private_edge_ports
from dockyard.cli.stack import Stack, listening, wait_for
from dockyard.settings import Settings, settings_environment
from tests.regions.host import ROOT, RegionHost

READY_STATUSES = ("ready", "failed")


@dataclass
class ControlPlane:
    settings: Settings
    stack: Stack
    # What a region host is told, besides its region and addresses: the plane's own
    # settings, with every address it serves seen from the host's end of its link.
    links: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, tuple[RegionHost, subprocess.Popen[bytes] | None]] = field(
        default_factory=dict
    )

    def api(self) -> ApiClient:
        return ApiClient(self.settings.api_url, self.settings.root_key)

    @property
    def edge(self) -> str:
        """This machine's region's edge."""
        return f"http://127.0.0.1:{self.settings.edge_port}"

    def host_settings(self, host: RegionHost, region: str) -> Settings:
        """The settings `scripts/region-host` runs with on `host`."""
        plane = self.settings

        def seen_from_host(url: str) -> str:
            return url.replace("127.0.0.1", host.plane_address)

        return plane.model_copy(
            update={
                "home": host.state / "home",
                "region": region,
                "temporal_address": seen_from_host(plane.temporal_address),
                "database_url": seen_from_host(plane.database_url),
                "redis_url": seen_from_host(plane.redis_url),
                "edge_bind_host": host.address,
                "instance_bind_host": host.address,
                "instance_host": host.address,
                "edge_control_url": f"http://127.0.0.1:{plane.edge_control_port}",
            }
        )

    def start_host(self, host: RegionHost, region: str) -> None:
        """The region's worker and edge on the host (again, after a kill)."""
        settings = self.host_settings(host, region)
        environment = {
            "PATH": os.environ["PATH"],
            "DOCKYARD_PYTHON": sys.executable,
            **settings_environment(settings),
        }
        self.hosts[region] = (host, host.start_region(environment))

    def host_edge(self, region: str) -> str:
        host, _ = self.hosts[region]
        return f"http://{host.address}:{self.settings.edge_port}"

    def stop_hosts(self) -> None:
        for _host, process in self.hosts.values():
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def wait_edge(self, url: str, within: float = 60.0) -> None:
        """Until the edge's public port answers (any status: it has no route yet)."""
        deadline = time.monotonic() + within
        while True:
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"no edge answered at {url}"
                time.sleep(0.1)


@contextmanager
def control_plane(
    state: Path,
    *,
    regions: list[str],
    temporal_address: str,
    postgres_admin_url: str,
    hosts: list[RegionHost],
    temporal: bool = False,
    local_region: bool = True,
    **overrides: Any,
) -> Iterator[ControlPlane]:
    """Redis, a PostgreSQL database of its own, the API and the control plane's worker,
    with links from every host; `local_region`: the worker and an edge serve `regions[0]`
    on this machine too; `temporal`: start a Temporal dev server at `temporal_address`."""
    state.mkdir(parents=True, exist_ok=True)
    (state / "logs").mkdir(exist_ok=True)
    with ExitStack() as stack:
        redis_url = stack.enter_context(own_redis(state))
        database_url = stack.enter_context(own_database(postgres_admin_url))
        settings = Settings(
            home=state / "home",
            database_url=database_url,
            redis_url=redis_url,
            temporal_address=temporal_address,
            temporal_port=int(temporal_address.rpartition(":")[2]),
            root_key=f"dy_regions_{secrets.token_urlsafe(16)}",
            secret_key=secrets.token_urlsafe(32),
            workspace="acme",
            regions=regions,
            region=regions[0],
            tls="off",
            api_port=free_port(),
            worker_metrics_port=0,
            task_queue_prefix=f"regions-{secrets.token_hex(4)}",
            **private_edge_ports(),
            **overrides,
        )
        settings = settings.model_copy(
            update={"edge_control_url": f"http://127.0.0.1:{settings.edge_control_port}"}
        )
        environment = {**os.environ, **settings_environment(settings)}
        environment.pop("DOCKER_HOST", None)
        processes = Stack(environment, state / "logs")
        stack.callback(processes.stop)
        if temporal:
            processes.start("temporal", temporal_command(settings, state), quiet=True)
            wait_for(temporal_address, "Temporal", processes)
        for host in hosts:
            for url in (temporal_address, database_url, redis_url):
                stack.enter_context(forward(host, url, state / "logs"))
        bootstrap(settings)
        python = sys.executable
        worker = [python, str(ROOT / "worker.py"), "--control"]
        command = [*worker, "--region", regions[0]] if local_region else worker
        processes.start("worker", command, quiet=True)
        processes.start("api", [python, "-m", "api"], quiet=True)
        wait_for(f"127.0.0.1:{settings.api_port}", "the API", processes)
        if local_region:
            processes.start("edge", [python, "-m", "sentinel"], quiet=True)
            wait_for(f"127.0.0.1:{settings.edge_port}", "the edge", processes)
        plane = ControlPlane(settings=settings, stack=processes)
        stack.callback(plane.stop_hosts)
        yield plane


def temporal_command(settings: Settings, state: Path) -> list[str]:
    from dockyard.cli.dev import _temporal_command

    return _temporal_command(settings.model_copy(update={"home": state}))


@contextmanager
def own_redis(state: Path) -> Iterator[str]:
    """A Redis of the plane's own, on loopback, that wants a password."""
    password = secrets.token_urlsafe(16)
    port = free_port()
    log = (state / "logs" / "redis.log").open("ab")
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _until_listening(f"127.0.0.1:{port}", process)
        yield f"redis://:{password}@127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def own_database(admin_url: str) -> Iterator[str]:
    """A PostgreSQL database and a login role with a password that owns it."""
    name = f"dy_regions_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        admin.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    address = urlsplit(admin_url)
    try:
        yield f"postgresql://{name}:{password}@127.0.0.1:{address.port or 5432}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {name}")


@contextmanager
def forward(host: RegionHost, url: str, logs: Path) -> Iterator[None]:
    """The host reaches a loopback service of the plane at the same port on its link."""
    port = urlsplit(url if "://" in url else f"tcp://{url}").port
    log = (logs / f"socat-{host.name}-{port}.log").open("ab")
    process = subprocess.Popen(
        [
            "socat",
            f"TCP-LISTEN:{port},bind={host.plane_address},fork,reuseaddr",
            f"TCP:127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _until_listening(f"{host.plane_address}:{port}", process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _until_listening(address: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not listening(address):
        assert process.poll() is None, f"{process.args!r} exited"
        assert time.monotonic() < deadline, f"nothing listens at {address}"
        time.sleep(0.05)


def deploy(api: ApiClient, project: str, image: str) -> str:
    """createDeployment of an image to the project's production; its deployment id."""
    created = api.call(
        "deployments.createDeployment",
        {
            "project": project,
            "app": "default",
            "environment": "production",
            "image": {"dockerImage": image},
        },
    )
    return str(created["deploymentId"])


def wait_deployment(
    api: ApiClient, deployment_id: str, statuses: tuple[str, ...] = READY_STATUSES
) -> dict[str, Any]:
    """getDeployment's answer once its status is one of `statuses`."""
    deadline = time.monotonic() + 300
    while True:
        found: dict[str, Any] = api.call(
            "deployments.getDeployment", {"deploymentId": deployment_id}
        )
        if found["status"] in statuses:
            return found
        assert time.monotonic() < deadline, f"{deployment_id} stayed {found['status']}"
        time.sleep(0.1)
