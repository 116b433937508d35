"""Child processes of a local dockyard: started in order, stopped in reverse, each one
killable and restartable (that is how the fault scenarios inject their faults)."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

READY_TIMEOUT = 60.0
STOP_GRACE = 10.0
# A traceback's last line is shown once the child has been quiet this long, if no chained
# traceback follows it.
TRACEBACK_SETTLE = 0.3
TRACEBACK_START = "Traceback (most recent call last):"
TRACEBACK_CHAIN = ("The above exception", "During handling of the above exception")


class Stack:
    """Child processes started in order and stopped in reverse."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self._environment = environment
        self._logs = logs
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._commands: dict[str, tuple[list[str], bool, re.Pattern[str] | None]] = {}

    def start(
        self,
        name: str,
        command: list[str],
        *,
        quiet: bool = False,
        log_only: re.Pattern[str] | None = None,
    ) -> None:
        """Start a child whose whole output goes to `<logs>/<name>.log`; unless quiet, the
        terminal shows it too, but for the lines log_only matches (one per request, say)."""
        self._commands[name] = (command, quiet, log_only)
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
            log_path = self._logs / f"{name}.log"
            threading.Thread(
                target=_show, args=(name, process.stdout, log_path, log_only), daemon=True
            ).start()
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
        command, quiet, log_only = self._commands[name]
        self.start(name, command, quiet=quiet, log_only=log_only)


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


class FoldedTracebacks:
    """A child's lines for the terminal, each Python traceback folded into its last line
    (the exception); the log file keeps it whole."""

    def __init__(self, say: Callable[[str], None], log: str) -> None:
        self._say = say
        self._log = log
        self._folded = 0  # lines of the traceback being read; 0 outside one
        self._exception: str | None = None

    def feed(self, line: str) -> None:
        text = line.rstrip("\n")
        if not self._folded:
            if text == TRACEBACK_START:
                self._folded, self._exception = 1, None
            else:
                self._say(line)
            return
        if self._exception is None or text == "" or text.startswith(TRACEBACK_CHAIN):
            self._folded += 1
            if text.startswith(TRACEBACK_CHAIN):
                self._exception = None
            elif self._exception is None and text[:1].strip() and text != TRACEBACK_START:
                self._exception = text  # the exception line ends each traceback
            return
        if text == TRACEBACK_START:  # a new traceback right after the last one
            self._folded += 1
            self._exception = None
            return
        self.settle()
        self.feed(line)

    def settle(self) -> None:
        """The child went quiet or wrote something else: show the traceback's last line."""
        if self._folded and self._exception is not None:
            self._say(f"{self._exception}  ({self._folded}-line traceback in {self._log})\n")
            self._folded, self._exception = 0, None


def _show(name: str, stream: IO[bytes], log_path: Path, log_only: re.Pattern[str] | None) -> None:
    """Copy a child's output whole to its log file, and folded to the terminal."""

    def say(text: str) -> None:
        sys.stdout.write(f"{name:>6} | {text}")
        sys.stdout.flush()

    lines: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=_read, args=(stream, lines), daemon=True).start()
    folded = FoldedTracebacks(say, str(log_path))
    with log_path.open("ab") as log:
        while True:
            try:
                line = lines.get(timeout=TRACEBACK_SETTLE)
            except queue.Empty:
                folded.settle()
                continue
            if line is None:
                folded.settle()
                return
            log.write(line)
            log.flush()
            text = line.decode(errors="replace")
            if log_only is None or not log_only.match(text):
                folded.feed(text)


def _read(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for line in iter(stream.readline, b""):
        lines.put(line)
    lines.put(None)
