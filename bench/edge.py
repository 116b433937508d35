"""How fast is the edge? `python -m bench.edge [--duration 8] [--connections 64] [--rounds 3]`.

End to end as users run it: the region edge (`python -m sentinel`: Caddy in front, one
Sentinel replica of the environment behind it, with key auth and a rate limit on) against
nginx `proxy_pass` (the reference), both in front of the same nginx `return 200`, over
plain HTTP and over HTTPS (TLS 1.3, the edge with a wildcard certificate the bench makes,
nginx with the same one). wrk drives each in turn for `--rounds` alternating rounds; the
round with the median p99 is the one judged. For context it also measures two bounds,
both with the edge's own Caddy transport settings: Caddy alone proxying to the upstream,
and Caddy in front of the cheapest Python hop there is (bench.relay: relaying only, no
policies), which is what any edge of Caddy plus one Python hop reaches on the machine.

Bar: edge requests/s >= 0.35 x nginx's, over HTTP and over HTTPS (goal 0.5).
The last line is `ratio <x> p99_ms <y>`: the lower of the two ratios, and the edge's p99
over HTTPS. Needs nginx, wrk and Redis.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.stack import require_tools
from dockyard.bootstrap import ensure_workspace
from dockyard.cli.dev import private_edge_ports
from dockyard.db import make_engine, make_sessionmaker, migrate
from dockyard.ids import new_id
from dockyard.models import App, Deployment, Domain, Environment, Instance, Project
from dockyard.settings import Settings, settings_environment
from sentinel.caddy import caddy_binary
from sentinel.caddy_config import IDLE_CONNECTIONS_PER_REPLICA

HOST = "bench-acme.localhost"
REDIS_URL = os.environ.get("DOCKYARD_REDIS_URL", "redis://127.0.0.1:6379/0")
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
{tls_server}}}
"""
NGINX_TLS_SERVER = """
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        keepalive_requests 1000000;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
"""
# wrk connects where the URL's host resolves; `*.localhost` names may not resolve here,
# so connect to the loopback address while SNI and Host keep the name.
WRK_CONNECT_LOOPBACK = """
function wrk.resolve(host, service)
   wrk.addrs = wrk.lookup("127.0.0.1", service)
end
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


def start_upstream(
    stack: ExitStack,
    workdir: Path,
    port: int,
    proxy_port: int,
    *,
    tls: tuple[int, Path, Path] | None = None,
) -> str | None:
    """Start the upstream; return its name, or None when no nginx (so no reference proxy).
    With tls=(port, certificate, key), nginx also proxies over HTTPS on that port."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if nginx:
        conf = workdir / "nginx.conf"
        tls_server = ""
        if tls is not None:
            tls_port, certificate, key = tls
            tls_server = NGINX_TLS_SERVER.format(port=tls_port, certificate=certificate, key=key)
        conf.write_text(
            NGINX_CONF.format(dir=workdir, port=port, proxy_port=proxy_port, tls_server=tls_server)
        )
        command = [nginx, "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log")]
    else:
        command = [sys.executable, "-c", AIOHTTP_UPSTREAM % port]
    stack.enter_context(running(command))
    wait_for(f"http://127.0.0.1:{port}/")
    return "nginx return 200" if nginx else None


def caddy_in_front(workdir: Path, port: int, upstream_port: int) -> list[str]:
    """Caddy proxying plain HTTP on `port` to `upstream_port`, with the transport settings
    the edge gives its routes to replicas (kept-alive connections), and no admin API."""
    config = {
        "admin": {"disabled": True},
        "apps": {"http": {"servers": {"bench": {
            "listen": [f"127.0.0.1:{port}"],
            "automatic_https": {"disable": True},
            "routes": [{"handle": [{
                "handler": "reverse_proxy",
                "upstreams": [{"dial": f"127.0.0.1:{upstream_port}"}],
                "transport": {
                    "protocol": "http",
                    "keep_alive": {"max_idle_conns_per_host": IDLE_CONNECTIONS_PER_REPLICA},
                },
            }]}],
        }}}},
    }  # fmt: skip
    path = workdir / f"caddy-{port}.json"
    path.write_text(json.dumps(config))
    return [caddy_binary(), "run", "--config", str(path)]


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
    script: Path | None = None,
) -> dict[str, str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if script is not None:
        command += ["-s", str(script)]
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


def wildcard_certificate(workdir: Path, apex: str) -> tuple[Path, Path]:
    """A self-signed certificate for *.apex, as a user would hand the edge their own."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{apex}")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"*.{apex}")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = workdir / "wildcard.crt", workdir / "wildcard.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


def wait_served(url: str, headers: dict[str, str], timeout: float = 60.0) -> None:
    """Until `url` answers 200 (with SNI = the Host header, over HTTPS, unverified)."""
    host = headers["Host"]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection: http.client.HTTPConnection
            address = url.split("://", 1)[1].rstrip("/")
            hostname, port = address.rsplit(":", 1)
            if url.startswith("https"):
                raw = socket.create_connection((hostname, int(port)), timeout=5)
                tls = context.wrap_socket(raw, server_hostname=host)
                connection = http.client.HTTPSConnection(hostname, int(port), timeout=5)
                connection.sock = tls
            else:
                connection = http.client.HTTPConnection(hostname, int(port), timeout=5)
            connection.request("GET", "/", headers=headers)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 for {host}")
        time.sleep(0.1)


def edge_settings(workdir: Path, database_url: str, certificate: tuple[Path, Path]) -> Settings:
    return Settings(
        home=workdir,
        database_url=database_url,
        redis_url=REDIS_URL,
        regions=["local"],
        api_port=free_port(),
        wildcard_cert=certificate[0],
        wildcard_key=certificate[1],
        **private_edge_ports(),
    )


@dataclass(frozen=True)
class Run:
    """One path to drive with wrk: its URL, Host header, extra headers and Lua script."""

    url: str
    host: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    script: Path | None = None


Watch = Callable[[str], Callable[[], dict[str, str]]]


def alternating_rounds(
    runs: dict[str, Run],
    *,
    rounds: int,
    duration: int,
    connections: int,
    watch: Watch | None = None,
) -> dict[str, list[dict[str, str]]]:
    """A warm-up of each path, then `rounds` rounds of all of them in turn, so every path
    sees the same machine (its speed moves 2x between days, and within a run); every
    other round runs them in reverse order, so no path always follows the same one.
    `watch`, called with a path's name as its run starts, returns what adds to the
    run's result as it ends (the CPU a process spent, say)."""
    results: dict[str, list[dict[str, str]]] = {name: [] for name in runs}
    for run in runs.values():
        wrk(run.url, duration=1, connections=connections, host=run.host, headers=run.headers,
            script=run.script)  # fmt: skip
    for index in range(rounds):
        order = list(runs.items())
        for name, run in order if index % 2 == 0 else reversed(order):
            ended = watch(name) if watch is not None else dict
            result = wrk(
                run.url,
                duration=duration,
                connections=connections,
                host=run.host,
                headers=run.headers,
                script=run.script,
            )
            results[name].append(result | ended())
    return results


def milliseconds(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def median_run(runs: list[dict[str, str]]) -> dict[str, str]:
    """The round whose p99 is the median one: the figures reported stay from one run."""
    ordered = sorted(runs, key=lambda result: milliseconds(result["p99"]))
    return ordered[len(ordered) // 2]


def print_rounds(
    rounds: dict[str, list[dict[str, str]]], *, duration: int, connections: int, load_before: str
) -> dict[str, dict[str, str]]:
    """Every round of every path, then each path's median round (by p99), which it returns."""
    results = {name: median_run(runs_of) for name, runs_of in rounds.items()}
    width = max(len(name) for name in rounds) + 2
    count = len(next(iter(rounds.values()), []))
    print(
        f"\nwrk -t1 -c{connections} -d{duration}s, same upstream (nginx return 200), "
        f"{count} alternating rounds; load average before: {load_before}"
    )
    print(f"{'path':<{width}} {'requests/s':>12} {'p50':>10} {'p99':>10}  non-2xx/errors")
    for name, runs_of in rounds.items():
        for result in runs_of:
            print(
                f"  {name:<{width - 2}} {result['rps']:>12} {result['p50']:>10} {result['p99']:>10}"
            )
    print("median of the rounds (by p99):")
    for name, result in results.items():
        print(
            f"{name:<{width}} {result['rps']:>12} {result['p50']:>10} {result['p99']:>10}  "
            f"{result['errors']}"
        )
    return results


def main() -> None:
    from bench.sentinel import add_gateway

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_tools("wrk", "nginx")
    load_before = " ".join(f"{load:.2f}" for load in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        certificate = wildcard_certificate(workdir, "localhost")
        upstream_port, proxy_port, tls_proxy_port = free_port(), free_port(), free_port()
        tls = (tls_proxy_port, *certificate)
        if start_upstream(stack, workdir, upstream_port, proxy_port, tls=tls) is None:
            sys.exit("nginx is needed as the upstream and the reference proxy")
        database_url = prepare_database(workdir / "dockyard.db", upstream_port)
        _, key, _ = add_gateway(database_url, 0)
        settings = edge_settings(workdir, database_url, certificate)
        env = os.environ | settings_environment(settings)
        log = workdir / "edge.log"
        stack.enter_context(running([sys.executable, "-m", "sentinel"], env=env, log=log))
        caddy_port, relay_port, relayed_port = free_port(), free_port(), free_port()
        relay = [sys.executable, "-m", "bench.relay", str(relay_port), str(upstream_port)]
        stack.enter_context(running(relay))
        for port, to in ((caddy_port, upstream_port), (relayed_port, relay_port)):
            command = caddy_in_front(workdir, port, to)
            stack.enter_context(running(command, log=workdir / f"caddy-{port}.log"))
        auth = {"Authorization": f"Bearer {key}"}
        edge_http = f"http://127.0.0.1:{settings.edge_port}/"
        edge_https = f"https://{HOST}:{settings.edge_https_port}/"
        try:
            wait_served(edge_http, {"Host": HOST, **auth})
            wait_served(f"https://127.0.0.1:{settings.edge_https_port}/", {"Host": HOST, **auth})
            wait_for(f"http://127.0.0.1:{caddy_port}/")
            wait_for(f"http://127.0.0.1:{relayed_port}/")
        except (OSError, TimeoutError) as error:
            sys.exit(f"the edge did not come up ({error}):\n{log.read_text()}")
        loopback = workdir / "loopback.lua"
        loopback.write_text(WRK_CONNECT_LOOPBACK)
        runs = {
            "nginx proxy_pass, HTTP": Run(f"http://127.0.0.1:{proxy_port}/"),
            "edge (Caddy + replica), HTTP": Run(edge_http, HOST, auth),
            "nginx proxy_pass, HTTPS": Run(f"https://{HOST}:{tls_proxy_port}/", script=loopback),
            "edge (Caddy + replica), HTTPS": Run(edge_https, None, auth, loopback),
            "caddy alone, HTTP": Run(f"http://127.0.0.1:{caddy_port}/"),
            "caddy + bare Python relay, HTTP": Run(f"http://127.0.0.1:{relayed_port}/"),
        }
        rounds = alternating_rounds(
            runs, rounds=args.rounds, duration=args.duration, connections=args.connections
        )
    results = print_rounds(
        rounds, duration=args.duration, connections=args.connections, load_before=load_before
    )

    def ratio(path: str, reference: str) -> float:
        return float(results[path]["rps"]) / float(results[reference]["rps"])

    http_ratio = ratio("edge (Caddy + replica), HTTP", "nginx proxy_pass, HTTP")
    https_ratio = ratio("edge (Caddy + replica), HTTPS", "nginx proxy_pass, HTTPS")
    ceiling = ratio("caddy alone, HTTP", "nginx proxy_pass, HTTP")
    bound = ratio("caddy + bare Python relay, HTTP", "nginx proxy_pass, HTTP")
    p99 = milliseconds(results["edge (Caddy + replica), HTTPS"]["p99"])
    print(f"\nedge / nginx: HTTP {http_ratio:.2f}, HTTPS {https_ratio:.2f} (bar 0.35, goal 0.5)")
    print(f"caddy alone / nginx, HTTP: {ceiling:.2f} (the ceiling of any edge on Caddy here)")
    print(
        f"caddy + bare Python relay / nginx, HTTP: {bound:.2f} (Caddy and a Python hop "
        "that only relays: the bound of any edge of Caddy plus one Python hop here)"
    )
    print(f"ratio {min(http_ratio, https_ratio):.2f} p99_ms {p99:.1f}")


if __name__ == "__main__":
    main()
