"""The fault module's own Redis server and PostgreSQL cluster, on free ports in temporary
directories. Its scenarios stop and restart these, never the machine's shared services,
so other suites running at the same time are not disturbed.

Both start in about a second: the cluster is made with `initdb --no-sync` and runs with
fsync off (a crash of this machine loses nothing a test needs).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from dockyard.cli.dev import free_port

POSTGRES_BINARIES = "/usr/lib/postgresql"
START_TIMEOUT = 30.0
# initdb and postgres refuse to run as root; as root the cluster belongs to this user.
POSTGRES_USER = "postgres"
CLUSTER_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


def postgres_bin() -> Path:
    """The bin directory of the newest PostgreSQL server installed (Debian's layout)."""
    found = [
        path / "bin"
        for path in Path(POSTGRES_BINARIES).glob("*")
        if (path / "bin" / "initdb").exists()
    ]
    if not found:
        raise RuntimeError(
            f"no PostgreSQL server under {POSTGRES_BINARIES}/*/bin: apt-get install postgresql"
        )
    return max(found, key=lambda path: [int(n) for n in re.findall(r"\d+", path.parent.name)])


class PrivateRedis:
    """A redis-server child process; stop() and start() keep its port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        log = self._directory / "redis.log"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self._directory), "--logfile", str(log)],
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: see {log}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None


class PrivateCluster:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) with one database, `dockyard`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._bin = postgres_bin()
        self._user = POSTGRES_USER if os.geteuid() == 0 else None
        self._root = Path(tempfile.mkdtemp(prefix="dockyard-faults-pg-"))
        self._data = self._root / "data"
        if self._user is not None:
            account = pwd.getpwnam(self._user)
            os.chown(self._root, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/dockyard"

    def create(self) -> None:
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
        with (self._data / "postgresql.conf").open("a") as conf:
            conf.write(CLUSTER_SETTINGS.format(port=self.port))
        self.start()
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE dockyard")

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def destroy(self) -> None:
        if (self._data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self._root, ignore_errors=True)

    def _pg_ctl(self, action: str, *options: str) -> None:
        # The server's output goes to its log: left on pg_ctl's pipes, it would hold them
        # open and the call would never return.
        log = str(self._root / "postgres.log")
        self._run("pg_ctl", action, "-D", str(self._data), "-l", log, "-w",
                  "-t", str(int(START_TIMEOUT)), *options)  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [str(self._bin / program), *args],
            user=self._user,
            cwd=self._root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} {args[0]} failed: {done.stderr.strip()}")
