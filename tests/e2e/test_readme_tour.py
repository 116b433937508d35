"""The README's tour, run as a newcomer runs it: its commands are read from README.md.

`scripts/dev` starts on ports that are not the defaults, as a second dockyard on a machine
would; every command of the tour then runs in a shell of its own from the repository root
with nothing but DOCKYARD_HOME set, as in a second terminal. A command the README changes is
the command this test runs; a placeholder it does not know fails the test, so the tour and
this test cannot drift apart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from dockyard.cli.client import ApiClient, Connection
from dockyard.cli.dev import free_port, private_edge_ports
from dockyard.runtime import LABEL_OWNER

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
RUN_COMMAND = "scripts/dev"
TEST_COMMAND = "scripts/test"
TOUR = ("## Two commands", "## A short tour", "## Rollback, promote, standby and previews")
LIVE = "shop-local.localhost"
DEMO_LIVE = "demo-local.localhost"
START_TIMEOUT = 300.0
COMMAND_TIMEOUT = 300.0
CREATED = re.compile(r"deployment (\S+) created")
PLACEHOLDER = re.compile(r"<[^<>]+>")


def sections(markdown: str, titles: tuple[str, ...]) -> list[str]:
    """The text of each `## ` section named, in the README's order."""
    found = []
    for chunk in re.split(r"(?m)^(?=## )", markdown):
        if chunk.splitlines()[0].strip() in titles:
            found.append(chunk)
    assert len(found) == len(titles), f"README.md lacks one of {titles}"
    return found


def shell_blocks(markdown: str) -> list[list[str]]:
    """The commands of every ```sh block: comments dropped, continuation lines joined."""
    blocks = []
    for body in re.findall(r"(?ms)^```sh\n(.*?)^```", markdown):
        commands: list[str] = []
        pending = ""
        for raw in body.splitlines():
            line = re.sub(r"\s+#.*$", "", raw).strip()
            if not line or line.startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            commands.append(pending + line)
            pending = ""
        blocks.append(commands)
    return blocks


def tour_commands() -> tuple[str, list[list[str]]]:
    """The README's run command, and the tour's blocks after it."""
    blocks = [block for text in sections(README.read_text(), TOUR) for block in shell_blocks(text)]
    assert blocks[0] == [RUN_COMMAND], "the README's first command must be scripts/dev"
    assert blocks[1] == [TEST_COMMAND], "the README's second command must be scripts/test"
    return blocks[0][0], blocks[2:]


def without_dockyard_settings() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DOCKYARD_", "UNKEY_"))
    }


@dataclass
class Tour:
    home: Path
    owner: str
    ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = None
    deployments: list[str] = field(default_factory=list)
    terminal: list[str] = field(default_factory=list)
    cwd: Path = REPO

    @property
    def output_file(self) -> Path:
        return self.home / "dev.out"

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def start(self, command: str) -> None:
        environment = {
            **without_dockyard_settings(),
            "DOCKYARD_HOME": str(self.home),
            "DOCKYARD_TASK_QUEUE_PREFIX": self.owner,
            **{f"DOCKYARD_{name.upper()}": str(port) for name, port in self.ports.items()},
        }
        with self.output_file.open("ab") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", command],
                cwd=REPO,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "The demo app is live" not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.5)

    def run(self, command: str) -> str:
        """One command in the tour's second terminal: the directory it is in, and what was
        sourced or exported in it before, carry over from one command to the next."""
        where = self.home / "tour.pwd"
        script = "\n".join(
            ["set -euo pipefail", *self.terminal, f"cd {self.cwd}", command, f"pwd > {where}"]
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=REPO,
            env={**without_dockyard_settings(), "DOCKYARD_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert done.returncode == 0, (
            f"`{command}` exited {done.returncode}\n{done.stdout}\n{done.stderr}\n{self.output()}"
        )
        self.cwd = Path(where.read_text().strip())
        if command.startswith(("source ", "export ")):
            self.terminal.append(command)
        self.deployments += CREATED.findall(done.stdout)
        return done.stdout

    def filled(self, command: str) -> str:
        """The command with its placeholders replaced by what the tour made so far."""
        known = {
            "<deployment id>": self.deployments[-1] if self.deployments else None,
            "<earlier deployment id>": self.deployments[-2] if len(self.deployments) > 1 else None,
        }
        for placeholder in PLACEHOLDER.findall(command):
            value = known.get(placeholder)
            assert value, f"the tour's `{command}` has a placeholder this test cannot fill"
            command = command.replace(placeholder, value)
        return command

    def through_edge(self, hostname: str) -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.ports['edge_port']}/version.txt",
            headers={"Host": hostname},
            timeout=30,
        )

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        connection = Connection.load(self.home)
        assert connection is not None, "dev saved no connection"
        with ApiClient(connection.api_url, connection.root_key) as api:
            found: dict[str, Any] = api.call(
                "deployments.getDeployment", {"deploymentId": deployment_id}
            )
        return found

    def assert_live(self, deployment_id: str) -> None:
        """The live domain serves what this deployment's own domain serves, and it is current."""
        deployment = self.deployment(deployment_id)
        assert deployment["status"] == "ready", deployment
        assert deployment["isCurrent"], deployment
        own = next(host for host in deployment["domains"] if "-dep-" in host)
        served = self.through_edge(own)
        assert served.status_code == 200, served.text
        assert self.through_edge(LIVE).text == served.text

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def tour(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Tour]:
    home = tmp_path / "home"
    home.mkdir()
    ports = {
        "api_port": free_port(),
        "temporal_port": free_port(),
        "temporal_ui_port": free_port(),
        **private_edge_ports(),
    }
    running = Tour(home=home, owner=f"tour-{os.getpid()}-{free_port()}", ports=ports)
    yield running
    running.stop()
    owned = {"label": f"{LABEL_OWNER}={running.owner}"}
    assert docker_client.containers.list(all=True, filters=owned) == [], running.output()


def test_the_readme_tour_works_as_written_on_other_ports(tour: Tour) -> None:
    run_command, blocks = tour_commands()
    tour.start(run_command)
    assert tour.through_edge(DEMO_LIVE).status_code == 200, tour.output()

    for block in blocks:
        for written in block:
            command = tour.filled(written)
            before = len(tour.deployments)
            tour.run(command)
            if len(tour.deployments) > before:
                # A deployment of the tour goes live: it is production, and nothing is rolled back.
                tour.assert_live(tour.deployments[-1])
            words = command.split()
            if words[:2] in (["dockyard", "rollback"], ["dockyard", "promote"]):
                tour.assert_live(words[2])

    assert len(tour.deployments) >= 2, "the tour deploys at least twice before it rolls back"
