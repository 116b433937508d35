"""`dockyard dev --demo` as `scripts/dev` runs it: the demo deployed once, every phase
said in order, no access lines in the terminal, and a restart that serves the same demo
deployment again instead of deploying it again."""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import docker
import httpx

from dockyard.cli.client import Connection
from dockyard.cli.dev import ACCESS_LINE
from tests.e2e import test_cli_down
from tests.e2e.test_cli_down import Dev, assert_nothing_left

dev = test_cli_down.dev
DEMO_LIVE = "demo-acme.localhost"
LIVE_SAID = "The demo app is live:"
DEMO_TIMEOUT = 180.0
PHASE = re.compile(r"^\s+\d+\.\d+s  (\w+)$", re.MULTILINE)


def wait_until_said(dev: Dev, text: str, times: int) -> None:
    deadline = time.monotonic() + DEMO_TIMEOUT
    while dev.output().count(text) < times:
        assert dev.process is not None and dev.process.poll() is None, dev.output()
        assert time.monotonic() < deadline, dev.output()
        time.sleep(0.2)


def demo_deployments(dev: Dev, root_key: str) -> list[dict[str, Any]]:
    connection = Connection.load(dev.home)
    assert connection is not None
    answer = httpx.post(
        f"{connection.api_url}/v2/deployments.listDeployments",
        json={"project": "demo"},
        headers={"Authorization": f"Bearer {root_key}"},
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json()["data"])


def test_a_restart_serves_the_demo_without_deploying_it_again(
    dev: Dev, docker_client: docker.DockerClient
) -> None:
    dev.start("--demo")
    wait_until_said(dev, LIVE_SAID, 1)
    connection = Connection.load(dev.home)
    assert connection is not None
    root_key = connection.root_key  # made by this first start
    [deployed] = demo_deployments(dev, root_key)
    first_start = dev.output()
    assert PHASE.findall(first_start) == ["deploying", "network", "finalizing", "ready"]
    assert not ACCESS_LINE.search(first_start)
    assert "edge started in region" not in first_start
    assert ACCESS_LINE.search((dev.home / "logs" / "api.log").read_text())
    assert dev.process is not None

    dev.process.send_signal(signal.SIGINT)
    assert dev.wait_for_exit() == 0, dev.output()
    assert_nothing_left(dev, docker_client)
    dev.start("--demo")
    wait_until_said(dev, LIVE_SAID, 2)

    restart = dev.output()[len(first_start) :]
    assert f"is live already as {deployed['id']}" in restart, restart
    assert "deploying" not in restart
    assert [item["id"] for item in demo_deployments(dev, root_key)] == [deployed["id"]]
    assert dev.through_edge(DEMO_LIVE).text.strip() == "v1"
    assert dev.cli("down").returncode == 0
    assert_nothing_left(dev, docker_client)
