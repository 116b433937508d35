"""`dockyard down` and Ctrl-C on `dockyard dev`: nothing of that dockyard is left running."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from dockyard.cli.client import CONNECTION_FILE
from dockyard.cli.dev import free_port, private_edge_ports
from dockyard.runtime import LABEL_OWNER

START_TIMEOUT = 120.0
LIVE = "shop-acme.localhost"


class Dev:
    """`python -m dockyard dev` of one home, on private ports, started as a user would."""

    def __init__(self, home: Path, redis_url: str) -> None:
        self.home = home
        self.owner = f"down-{secrets.token_hex(4)}"
        self.ports = {
            "api_port": free_port(),
            "temporal_port": free_port(),
            "temporal_ui_port": free_port(),
            **private_edge_ports(),
        }
        self.environment = {
            **without_dockyard_settings(),
            "DOCKYARD_HOME": str(home),
            "DOCKYARD_REDIS_URL": redis_url,
            "DOCKYARD_WORKSPACE": "acme",
            "DOCKYARD_TASK_QUEUE_PREFIX": self.owner,
            **{f"DOCKYARD_{name.upper()}": str(port) for name, port in self.ports.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *options: str) -> None:
        (self.home / CONNECTION_FILE).unlink(missing_ok=True)
        log = (self.home / "dev.out").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "dev", *options],
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.home / CONNECTION_FILE).exists():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI with nothing but this home: the connection file says the rest."""
        return subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            env={**without_dockyard_settings(), "DOCKYARD_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=180,
        )

    def through_edge(self, hostname: str) -> httpx.Response:
        port = self.ports["edge_port"]
        return httpx.get(
            f"http://127.0.0.1:{port}/version.txt", headers={"Host": hostname}, timeout=30
        )

    def wait_for_exit(self) -> int:
        assert self.process is not None
        return self.process.wait(timeout=90)

    def output(self) -> str:
        return (self.home / "dev.out").read_text(errors="replace")


def without_dockyard_settings() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DOCKYARD_", "UNKEY_"))
    }


def processes_of(home: Path) -> list[str]:
    """Every process started for this home: its settings or its files name the home."""
    marker = str(home.resolve())
    setting = f"DOCKYARD_HOME={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone meanwhile
            continue
        if setting in environment or marker.encode() in command:
            found.append(f"{entry.name}: {command.decode(errors='replace')}")
    return found


def assert_nothing_left(dev: Dev, docker_client: docker.DockerClient) -> None:
    owned = {"label": f"{LABEL_OWNER}={dev.owner}"}
    assert docker_client.containers.list(all=True, filters=owned) == []
    assert docker_client.networks.list(filters=owned) == []
    assert processes_of(dev.home) == []


def deploy_shop(dev: Dev, image: str) -> None:
    for command in (("projects", "create", "shop"), ("apps", "create", "default", "-p", "shop")):
        made = dev.cli(*command)
        assert made.returncode == 0, made.stderr
    deployed = dev.cli("deploy", image, "-p", "shop")
    assert deployed.returncode == 0, deployed.stderr + dev.output()
    assert dev.through_edge(LIVE).text.strip() == "v1"


@pytest.fixture
def dev(tmp_path: Path, redis_url: str, docker_client: docker.DockerClient) -> Iterator[Dev]:
    running = Dev(tmp_path / "home", redis_url)
    running.home.mkdir()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.process.kill()
        running.process.wait()
        print(running.output())


def test_down_stops_dev_and_leaves_nothing_behind(
    dev: Dev, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    dev.start()
    deploy_shop(dev, demo_images["v1"])
    owned = {"label": f"{LABEL_OWNER}={dev.owner}"}
    assert docker_client.containers.list(filters=owned)
    assert processes_of(dev.home)

    down = dev.cli("down")

    assert down.returncode == 0, down.stderr
    assert dev.process is not None and dev.process.poll() is not None
    assert_nothing_left(dev, docker_client)
    again = dev.cli("down")
    assert again.returncode == 0 and "not running" in again.stdout


def test_ctrl_c_leaves_nothing_behind_and_the_next_start_serves_again(
    dev: Dev, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    dev.start()
    deploy_shop(dev, demo_images["v1"])
    assert dev.process is not None

    dev.process.send_signal(signal.SIGINT)

    assert dev.wait_for_exit() == 0, dev.output()
    assert_nothing_left(dev, docker_client)
    dev.start()
    deadline = time.monotonic() + 60
    while dev.through_edge(LIVE).status_code != 200:
        assert time.monotonic() < deadline, dev.output()
        time.sleep(0.5)
    assert dev.through_edge(LIVE).text.strip() == "v1"
    assert dev.cli("down").returncode == 0
    assert_nothing_left(dev, docker_client)
