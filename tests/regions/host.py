"""A second machine on this one: a network namespace with its own veth address, its own
Docker engine (data-root, exec-root, socket and address pool of its own) and, started by
`scripts/region-host`, its own region worker and edge.

Processes enter only the namespace's network (nsenter --net): `ip netns exec` would also
remount /sys, and dockerd then finds no cgroups. Killing the host kills every process in
the namespace and everything they started (the engine's containers too), as a power cut
would; tear-down then removes the namespace and the engine's directories.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[2]
# A test range: each host gets a /30 of it (the control plane's end, then the host's).
NETWORK = "10.231"
ENGINE_TIMEOUT = 60.0


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class RegionHost:
    """Host number `index` (0..63): namespace `name`, veth 10.231.<index>.1 <-> .2."""

    name: str
    index: int
    state: Path  # the engine's data-root, the processes' logs and homes

    @property
    def plane_address(self) -> str:
        """The control plane's end of the link: what this host reaches it at."""
        return f"{NETWORK}.{self.index}.1"

    @property
    def address(self) -> str:
        """This host's own address, where its edge and instances answer."""
        return f"{NETWORK}.{self.index}.2"

    @property
    def exec_root(self) -> Path:
        # Short: the engine's containerd socket lives under it (unix paths are short).
        return Path("/run") / self.name

    @property
    def docker_host(self) -> str:
        return f"unix://{self.exec_root}/docker.sock"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    def docker(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=30)

    def nsenter(self, *command: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.name}", *command]

    # --- the machine ----------------------------------------------------------------

    def create(self) -> None:
        veth = f"{self.name}-h"
        run("ip", "netns", "add", self.name)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", f"{self.name}-n")
        run("ip", "link", "set", f"{self.name}-n", "netns", self.name)
        run("ip", "addr", "add", f"{self.plane_address}/30", "dev", veth)
        run("ip", "link", "set", veth, "up")
        inside = ("ip", "netns", "exec", self.name, "ip")
        run(*inside, "addr", "add", f"{self.address}/30", "dev", f"{self.name}-n")
        run(*inside, "link", "set", f"{self.name}-n", "up")
        run(*inside, "link", "set", "lo", "up")
        self.logs.mkdir(parents=True, exist_ok=True)

    def start_engine(self) -> None:
        """Its own dockerd (which starts its own containerd under the exec-root)."""
        self.exec_root.mkdir(parents=True, exist_ok=True)
        log = (self.logs / "dockerd.log").open("ab")
        subprocess.Popen(
            self.nsenter(
                "dockerd",
                "--data-root",
                str(self.state / "docker"),
                "--exec-root",
                str(self.exec_root),
                "-H",
                self.docker_host,
                "--pidfile",
                str(self.exec_root / "docker.pid"),
                "--default-address-pool",
                f"base=10.{232 + self.index}.0.0/16,size=24",
                "--bip",
                f"10.{240 + self.index}.0.1/24",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + ENGINE_TIMEOUT
        while True:
            try:
                self.docker().ping()
                return
            except docker.errors.DockerException:
                if time.monotonic() > deadline:
                    tail = (self.logs / "dockerd.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"dockerd in {self.name} did not answer:\n{tail}") from None
                time.sleep(0.2)

    def load(self, images: list[str]) -> None:
        """Copy images from this machine's engine: nothing is ever pulled."""
        here, there = docker.from_env(), self.docker()
        for image in images:
            there.images.load(b"".join(here.images.get(image).save(named=True)))

    def start_region(self, environment: dict[str, str]) -> subprocess.Popen[bytes]:
        """scripts/region-host inside the namespace, with these settings."""
        log = (self.logs / "region-host.log").open("ab")
        return subprocess.Popen(
            self.nsenter(str(ROOT / "scripts" / "region-host")),
            env={**environment, "DOCKER_HOST": self.docker_host},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def processes(self) -> set[int]:
        """Every process in the namespace, and everything they started (an engine's
        containers run in namespaces of their own, below its containerd shims)."""
        if not Path(f"/run/netns/{self.name}").exists():
            return set()
        inside = {int(pid) for pid in run("ip", "netns", "pids", self.name).split()}
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found, todo = set(), list(inside)
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo.extend(children.get(pid, ()))
        return found

    def kill(self) -> None:
        """The power goes out: every process of the host dies at once."""
        for _ in range(5):  # a dying shim may start nothing, but take two rounds anyway
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _wait_gone(pids)
        self._unmount()

    def destroy(self) -> None:
        self.kill()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", f"{self.name}-h"], capture_output=True, check=False)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        shutil.rmtree(self.state / "docker", ignore_errors=True)

    def _unmount(self) -> None:
        """What a killed engine leaves mounted (overlays, container namespaces)."""
        roots = (str(self.exec_root), str(self.state / "docker"))
        with open("/proc/mounts") as mounts:
            points = [line.split()[1] for line in mounts]
        for point in sorted((p for p in points if p.startswith(roots)), reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _wait_gone(pids: set[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)}
        if not alive:
            return
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@contextmanager
def region_host(index: int, state: Path) -> Iterator[RegionHost]:
    """Host `index` (its namespace `dyr<index>`) with its engine running; removed, with
    all it ran, on exit. Its addresses are fixed by its index, so a run killed outright
    leaves nothing the next one stumbles on: it is removed first."""
    host = RegionHost(name=f"dyr{index}", index=index, state=state)
    host.destroy()  # what a killed earlier run left behind under the same name
    try:
        host.create()
        host.start_engine()
        yield host
    finally:
        host.destroy()
