"""Child processes of a local dockyard: started in order, stopped in reverse, each one
killable and restartable (that is how the fault scenarios inject their faults)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

READY_TIMEOUT = 60.0
STOP_GRACE = 10.0


class Stack:
    """Child processes started in order and stopped in reverse."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self._environment = environment
        self._logs = logs
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._commands: dict[str, tuple[list[str], bool]] = {}

    def start(self, name: str, command: list[str], *, quiet: bool = False) -> None:
        self._commands[name] = (command, quiet)
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
        """One at a time, last started first: the worker still reaches Temporal while it
        hands back its activities, instead of retrying against a server already gone."""
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Stop one child abruptly (fault injection); `restart` brings it back."""
        for index, (child, process) in enumerate(self.processes):
            if child == name:
                process.send_signal(signum)
                process.wait(timeout=STOP_GRACE)
                del self.processes[index]
                return
        raise KeyError(f"no running child named {name}")

    def restart(self, name: str) -> None:
        command, quiet = self._commands[name]
        self.start(name, command, quiet=quiet)


def listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(address: str, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not listening(address):
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
