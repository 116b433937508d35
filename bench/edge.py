"""How fast is the edge? `python -m bench.edge [--duration 8] [--connections 32]`.

Starts an upstream (nginx `return 200` when installed, else a small aiohttp server), the
edge (`python -m sentinel`, one process) on a temporary SQLite database with one domain
and one healthy instance, then runs `wrk -t1` against the upstream directly and through
the edge, and prints requests/s, p50 and p99 of both. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from dockyard.bootstrap import ensure_workspace
from dockyard.db import make_engine, make_sessionmaker, migrate
from dockyard.ids import new_id
from dockyard.models import App, Deployment, Domain, Environment, Instance, Project

HOST = "bench-acme.localhost"
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        keepalive_requests 1000000;
        location / {{ return 200 "ok\\n"; }}
    }}
    # The reference proxy: what a mature C proxy achieves on this machine right now.
    upstream app {{ server 127.0.0.1:{port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{proxy_port} backlog=4096;
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
AIOHTTP_UPSTREAM = """
from aiohttp import web
async def ok(request):
    return web.Response(text="ok\\n")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=%d, print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, host: str | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def start_upstream(stack: ExitStack, workdir: Path, port: int, proxy_port: int) -> str | None:
    """Start the upstream; return its name, or None when no nginx (so no reference proxy)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if nginx:
        conf = workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=workdir, port=port, proxy_port=proxy_port))
        command = [nginx, "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log")]
    else:
        command = [sys.executable, "-c", AIOHTTP_UPSTREAM % port]
    stack.enter_context(running(command))
    wait_for(f"http://127.0.0.1:{port}/")
    return "nginx return 200" if nginx else None


def prepare_database(path: Path, upstream_port: int) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    with make_sessionmaker(engine).begin() as session:
        workspace = ensure_workspace(session, slug="acme")
        project = Project(id=new_id("project"), workspace_id=workspace.id, slug="bench", name="b")
        app = App(id=new_id("app"), project_id=project.id, slug="default", name="default")
        env = Environment(
            id=new_id("environment"), project_id=project.id, app_id=app.id, slug="p", kind="p"
        )
        deployment = Deployment(
            id=new_id("deployment"),
            workspace_id=workspace.id,
            project_id=project.id,
            app_id=app.id,
            environment_id=env.id,
            source="image",
            status="ready",
        )
        domain = Domain(
            id=new_id("domain"),
            hostname=HOST,
            kind="live",
            workspace_id=workspace.id,
            project_id=project.id,
            app_id=app.id,
            environment_id=env.id,
            deployment_id=deployment.id,
        )
        instance = Instance(
            id=new_id("instance"),
            deployment_id=deployment.id,
            environment_id=env.id,
            region="local",
            container_name="bench-1",
            address=f"127.0.0.1:{upstream_port}",
            status="healthy",
        )
        for row in (project, app, env, deployment, domain, instance):
            session.add(row)
            session.flush()
    engine.dispose()
    return url


def edge_environment(database_url: str, workdir: Path, edge_port: int) -> dict[str, str]:
    """What `python -m sentinel` needs to serve the bench database on `edge_port`."""
    return os.environ | {
        "DOCKYARD_DATABASE_URL": database_url,
        "DOCKYARD_HOME": str(workdir),
        "DOCKYARD_EDGE_PORT": str(edge_port),
        "DOCKYARD_BIND_HOST": "127.0.0.1",
        "DOCKYARD_REGIONS": "local",
    }


class running:
    """A child process for the length of a `with` block."""

    def __init__(
        self, command: list[str], env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        self._command = command
        self._env = env
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> subprocess.Popen[bytes]:
        output = self._log.open("wb") if self._log else None
        self._process = subprocess.Popen(
            self._command, env=self._env, stdout=output, stderr=subprocess.STDOUT
        )
        return self._process

    def __exit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    host: str | None,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if host:
        command += ["-H", f"Host: {host}"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1),  # type: ignore[union-attr]
        "p50": re.search(r"\s50%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "p99": re.search(r"\s99%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "errors": (errors.group(1) if errors else "0")
        + (f" ({socket_errors.group(1)})" if socket_errors else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        upstream_port, edge_port, proxy_port = free_port(), free_port(), free_port()
        upstream = start_upstream(stack, workdir, upstream_port, proxy_port)
        database_url = prepare_database(workdir / "dockyard.db", upstream_port)
        env = edge_environment(database_url, workdir, edge_port)
        edge_log = workdir / "edge.log"
        stack.enter_context(running([sys.executable, "-m", "sentinel"], env=env, log=edge_log))
        try:
            wait_for(f"http://127.0.0.1:{edge_port}/healthz")
            wait_for(f"http://127.0.0.1:{edge_port}/", host=HOST)
        except OSError:
            sys.exit(f"the edge did not come up:\n{edge_log.read_text()}")
        runs = {f"upstream direct ({upstream or 'aiohttp web server'})": (upstream_port, None)}
        if upstream:
            runs["nginx proxy_pass, keepalive (reference)"] = (proxy_port, None)
        runs["through the edge (python -m sentinel)"] = (edge_port, HOST)
        results = {}
        for name, (port, host) in runs.items():
            url = f"http://127.0.0.1:{port}/"
            wrk(url, duration=1, connections=args.connections, host=host)  # warm up
            results[name] = wrk(
                url, duration=args.duration, connections=args.connections, host=host
            )
    print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s")
    print(f"{'path':<44} {'requests/s':>12} {'p50':>10} {'p99':>10}  non-2xx/errors")
    for name, result in results.items():
        print(
            f"{name:<44} {result['rps']:>12} {result['p50']:>10} {result['p99']:>10}  "
            f"{result['errors']}"
        )


if __name__ == "__main__":
    main()
