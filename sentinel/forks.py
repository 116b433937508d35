"""Sentinel replicas forked from one warm process per region: the fork server.

A replica started as `python -m sentinel.replica` pays for a whole interpreter: seconds
of imports and ~100 MB of its own. Here the edge starts one process per region (the
fork server, `python -m sentinel.forks`) that imports and warms everything a replica
runs, freezes it (gc.freeze) and then only forks. A replica is a fork of it: it starts
in about a tenth of a second and shares the warm memory copy-on-write, so what it owns
is mostly what it allocates to serve.

Who is whose parent, and why:
- The edge (sentinel.supervisor) makes itself a child subreaper. The fork server forks
  twice for each replica and the middle process exits at once, so every replica becomes
  the edge's own child: the edge reaps it and learns of its exit at once (a pidfd in its
  event loop), exactly as with a subprocess, and the fork server can die and be
  restarted without touching the replicas it forked.
- A replica asks the kernel for SIGKILL when the edge dies (PR_SET_PDEATHSIG) and keeps
  the replica's own parent watch (sentinel.replica), so an edge killed outright leaves no
  replica behind. The fork server does the same for itself, and also exits when its
  control socket closes.

The control socket carries one JSON line per request and per reply:
    {"environment": "env_...", "slot": 0, "host": "127.0.0.1", "port": 24001}
    {"pid": 4242}  or  {"error": "..."}
The first line the fork server writes is {"ready": true}, once it is warm.

Each replica rewrites its command line to the one it would have had as a subprocess,
`python -m sentinel.replica --environment <id> --slot <n> --port <p> --parent <edge>`,
so `ps`, `pgrep -f sentinel.replica` and anything reading /proc/<pid>/cmdline find it
by environment, slot and port as before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the edge imports this module; only the fork server loads the replica
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from dockyard.settings import Settings
    from sentinel.app import Edge

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
READY_TIMEOUT = 60.0
REPLY_TIMEOUT = 10.0
REPARENT_TIMEOUT = 2.0
RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 10.0
STOP_GRACE = 5.0
# Room for a replica's command line, which must fit where the fork server's was.
TITLE_ROOM = 256
# Worker threads per replica (asyncio.to_thread: route and key reads, credit spending,
# traffic flushes). Each thread costs private memory; more than this wait their turn.
REPLICA_THREADS = 4
ENVIRONMENT_FOR_WARMING = "env_warming"
# Imported by the fork server, so that no replica imports them itself: what a replica
# and its server load at start, and what policies load the first time they run.
PRELOADED = (
    "uvloop",
    "granian._granian",
    "granian.constants",
    "granian.http",
    "granian.log",
    "granian.server.embed",
    "hiredis",
    "redis.asyncio",
    "jwt",
    "yaml",
    "openapi_core",
    "openapi_core.contrib.starlette.requests",
    "openapi_core.exceptions",
    "sentinel.replica",
)


class ForkFailed(Exception):
    """The fork server could not fork the replica (it is gone, starting, or refused)."""


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl({option}): {os.strerror(error)}")


_adopting = 0  # how many supervisors in this process want orphans adopted


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """While inside, orphaned descendants of this process become its children (the
    replicas a fork server forks do): the process is a child subreaper. Outside, it no
    longer adopts, so a process that supervised replicas for a while (a test run, say)
    does not collect every other orphan afterwards."""
    global _adopting
    if _adopting == 0:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _adopting += 1
    try:
        yield
    finally:
        _adopting -= 1
        if _adopting == 0:
            _prctl(PR_SET_CHILD_SUBREAPER, 0)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when `parent` (its parent now) dies; exit if already gone."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


# ----------------------------------------------------------------------------------
# The edge's side: a replica process it did not spawn itself, and the fork server.


class ForkedProcess:
    """A forked replica, the edge's child: the subset of asyncio.subprocess.Process the
    supervisor uses. Its exit is seen through a pidfd, so no signal handler is needed."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._pidfd = os.pidfd_open(pid)
        self._loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        self._loop.remove_reader(self._pidfd)
        try:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = -1  # not this process's child after all: exited, status unknown
        os.close(self._pidfd)
        self._pidfd = -1
        self.returncode = code
        self._exited.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # the pidfd pins the pid: never another process
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


async def end(process: ForkedProcess | asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it is still there after STOP_GRACE; returns once gone."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_GRACE)
    except TimeoutError:
        process.kill()
        await process.wait()


class ForkServer:
    """The region's fork server as the edge sees it: `run` keeps one warm (starting it
    again when it dies), `fork` asks it for a replica."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self._environment = dict(environment)
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._process: asyncio.subprocess.Process | None = None
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.starts = 0
        self.pid: int | None = None

    @property
    def ready(self) -> bool:
        """Warm and answering: a replica asked for now starts at once."""
        return self._ready.is_set()

    async def run(self) -> None:
        """Keep a warm fork server until cancelled; then stop it. The caller must be a
        subreaper (adopting_orphans) for the replicas to be its children."""
        failures = 0
        try:
            while True:
                try:
                    await self._start()
                    failures = 0
                except (OSError, ValueError, ForkFailed) as error:
                    log.warning("sentinel fork server did not start: %s", error)
                    failures += 1
                if self._process is not None:
                    code = await self._process.wait()
                    log.warning("sentinel fork server exited with %s; starting another", code)
                self._ready.clear()
                await asyncio.sleep(min(RESTART_DELAY * 2**failures, MAX_RESTART_DELAY))
        finally:
            self._ready.clear()
            await self._stop()

    async def _start(self) -> None:
        await self._stop()
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "sentinel.forks", "--control", str(theirs.fileno())),
                *("--edge", str(os.getpid()), "--room", "." * TITLE_ROOM),
                env=self._environment,
                pass_fds=(theirs.fileno(),),
            )
        self.starts += 1
        self.pid = self._process.pid
        self._stream = await asyncio.open_unix_connection(sock=ours)
        with contextlib.suppress(TimeoutError):
            hello = await asyncio.wait_for(self._stream[0].readline(), READY_TIMEOUT)
            if json.loads(hello or b"{}").get("ready"):
                self._ready.set()
                log.info("sentinel fork server %d is warm", self.pid)
                return
        self._process.kill()
        raise ForkFailed("the fork server did not become ready")

    async def _stop(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None
        process, self._process = self._process, None
        if process is not None:
            await end(process)

    async def fork(self, environment_id: str, slot: int, *, host: str, port: int) -> ForkedProcess:
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT)
        except TimeoutError:
            raise ForkFailed("no fork server is ready") from None
        request = {"environment": environment_id, "slot": slot, "host": host, "port": port}
        asked = asyncio.ensure_future(self._ask(request))
        try:
            pid = await asyncio.shield(asked)
        except asyncio.CancelledError:
            # Not wanted any more, but it may be forked already: it must not linger.
            asked.add_done_callback(_kill_unwanted)
            raise
        try:
            return ForkedProcess(pid)
        except OSError as error:  # out of descriptors, say: it cannot be watched, so it goes
            os.kill(pid, signal.SIGKILL)
            raise ForkFailed(f"replica {pid} cannot be watched: {error}") from error

    async def _ask(self, request: dict[str, Any]) -> int:
        async with self._lock:
            if self._stream is None:
                raise ForkFailed("the fork server is starting")
            reader, writer = self._stream
            try:
                writer.write(json.dumps(request).encode() + b"\n")
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT)
            except (OSError, TimeoutError) as error:
                if self._process is not None and self._process.returncode is None:
                    self._process.kill()  # wedged, or out of step: `run` starts another
                raise ForkFailed(f"no answer from the fork server: {error!r}") from error
        try:
            reply = json.loads(line or b'{"error": "the fork server is gone"}')
            return int(reply["pid"])
        except (ValueError, KeyError, TypeError):
            raise ForkFailed(f"the fork server answered {line!r}") from None


def _kill_unwanted(asked: asyncio.Future[int]) -> None:
    if not asked.cancelled() and asked.exception() is None:
        ForkedProcess(asked.result()).kill()  # and reaped, once it is gone


# ----------------------------------------------------------------------------------
# The fork server process.


@dataclass(frozen=True)
class ForkRequest:
    environment_id: str
    slot: int
    host: str
    port: int

    @classmethod
    def parse(cls, line: bytes) -> ForkRequest:
        fields = json.loads(line)
        return cls(str(fields["environment"]), int(fields["slot"]), fields["host"], fields["port"])


def set_command_line(*args: str) -> None:
    """Rewrite this process's /proc/<pid>/cmdline in place: NUL-separated args, as the
    kernel shows an unmodified one. What does not fit in the original is left out."""
    fields = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (stat fields 48, 49)
    text = b""
    for arg in args:
        encoded = arg.encode() + b"\0"
        if len(text) + len(encoded) > end - start:
            break
        text += encoded
    ctypes.memmove(start, text.ljust(end - start, b"\0"), end - start)


@dataclass(frozen=True)
class Warm:
    """What every replica starts from: the settings, and one engine whose dialect and
    compiled-statement cache were set up here, once, instead of in every replica."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


def warm(settings: Settings) -> Warm:
    """Import and exercise what replicas run, so each fork finds it done and shared."""
    for module in PRELOADED:
        importlib.import_module(module)
    from dockyard.db import make_engine, make_sessionmaker
    from sentinel.key_cache import KeyCache
    from sentinel.limits import Limiter
    from sentinel.policies.gateway import Gateway
    from sentinel.replica import create_replica, load_replica_routes

    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    create_replica(settings, ENVIRONMENT_FOR_WARMING, sessions=sessions)
    gateway = Gateway(
        environment_id=ENVIRONMENT_FOR_WARMING,
        keys=KeyCache(lambda _: None),
        limiter=Limiter(None),
        spend_credits=lambda _key, _cost: (True, None),
    )
    try:
        load_replica_routes(sessions, gateway, region=settings.region)
    except Exception as error:  # the database is not up yet: replicas compile their own
        log.warning("fork server warmed without the database: %s", error)
    engine.dispose()
    return Warm(settings, engine, sessions)


def _serve_control(control: socket.socket, edge: int, warmed: Warm) -> None:
    """Answer fork requests until the edge closes the socket. No makefile(): a replica
    must be able to close the socket outright, so the edge sees EOF when we are gone."""
    pending = b""
    while chunk := control.recv(65_536):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            try:
                reply: dict[str, Any] = {
                    "pid": _fork(ForkRequest.parse(line), control, edge, warmed)
                }
            except (ValueError, KeyError, TypeError, OSError) as error:
                reply = {"error": str(error)}
            control.sendall(json.dumps(reply).encode() + b"\n")


def _fork(request: ForkRequest, control: socket.socket, edge: int, warmed: Warm) -> int:
    """Fork the replica through a middle process that exits at once, so the replica is
    adopted by the edge (its subreaper). Returns once it is the edge's child."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_end)
            replica = os.fork()
            if replica == 0:
                os.close(write_end)
                _become_replica(request, control, edge, warmed)
            os.write(write_end, str(replica).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        pid = answer.read()
    os.waitpid(middle, 0)  # gone, so the replica has been handed to the edge
    if not pid:
        raise OSError("the replica could not be forked")
    return int(pid)


def _become_replica(request: ForkRequest, control: socket.socket, edge: int, warmed: Warm) -> None:
    """The forked replica's life; it never returns into the fork server's loop."""
    code = 1
    try:
        control.close()
        deadline = time.monotonic() + REPARENT_TIMEOUT
        while os.getppid() != edge and time.monotonic() < deadline:
            time.sleep(0.001)
        die_with_parent(edge)
        set_command_line(
            *(sys.executable, "-m", "sentinel.replica"),
            *("--environment", request.environment_id, "--slot", str(request.slot)),
            *("--port", str(request.port), "--parent", str(edge)),
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        prefix = f"{request.environment_id}/{request.slot}"
        for handler in logging.getLogger().handlers:
            handler.setFormatter(
                logging.Formatter(f"%(asctime)s %(levelname)s {prefix} %(name)s %(message)s")
            )
        import uvloop

        from sentinel.replica import create_replica

        warmed.engine.dispose(close=False)  # the fork server's connections are not ours
        replica = create_replica(
            warmed.settings, request.environment_id, slot=request.slot, sessions=warmed.sessions
        )
        uvloop.run(_serve_replica(replica, request.host, request.port, edge))
        code = 0
    except BaseException:
        log.exception("sentinel replica %s/%d failed", request.environment_id, request.slot)
    finally:
        logging.shutdown()
        os._exit(code)


async def _serve_replica(replica: Edge, host: str, port: int, edge: int) -> None:
    from sentinel.replica import _serve

    executor = ThreadPoolExecutor(max_workers=REPLICA_THREADS, thread_name_prefix="replica")
    asyncio.get_running_loop().set_default_executor(executor)
    await _serve(replica, host, port, edge)


def _close_inherited(keep: set[int]) -> None:
    """Descriptors the edge let through (some event loops do) must not live on in every
    replica: a listening socket of the edge's would stay bound as long as they run."""
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            with contextlib.suppress(OSError):
                os.close(int(name))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinel.forks", description=__doc__)
    parser.add_argument("--control", type=int, required=True, help="the control socket's fd")
    parser.add_argument("--edge", type=int, required=True, help="the edge's pid")
    parser.add_argument("--room", default="", help="room for replicas' command lines")
    args = parser.parse_args(argv)
    die_with_parent(args.edge)
    _close_inherited(keep={0, 1, 2, args.control})
    set_command_line(sys.executable, "-m", "sentinel.forks", "--edge", str(args.edge))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the edge; the edge stops us
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s forks %(name)s %(message)s"
    )
    from dockyard.settings import load_settings

    warmed = warm(load_settings())
    gc.collect()
    gc.freeze()  # what the fork server holds stays shared: the collector never writes it
    control = socket.socket(fileno=args.control)
    control.sendall(b'{"ready": true}\n')
    _serve_control(control, args.edge, warmed)


if __name__ == "__main__":
    main()
