"""Fault scenarios: each runs a deployment under steady load, injects one fault, and
records what was sent, what succeeded, what failed and what was lost. The table of every
scenario is printed at the end of the run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from dockyard.db import make_engine, make_sessionmaker
from dockyard.loadgen import Tally, steady_load, table
from dockyard.runtime import DockerRuntime
from dockyard.sweep import Sweep, sweep
from tests.e2e.conftest import Dockyard, start_dockyard

PROJECT = "faults"
LIVE = f"{PROJECT}-acme.localhost"
FINAL = {"ready", "failed", "cancelled", "stopped", "superseded", "skipped"}
RESULTS: list[tuple[str, Tally]] = []


@dataclass(frozen=True)
class Outcome:
    tally: Tally
    status: str
    sweep: Sweep


@pytest.fixture(scope="module")
def yard(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    postgres_url: str,
    demo_images: dict[str, str],
) -> Iterator[Dockyard]:
    """A dockyard on PostgreSQL with two replicas per region and a 2 s health delay, so
    every deployment spends a few seconds in `deploying`: the window faults aim at."""
    with start_dockyard(
        tmp_path_factory.mktemp("faults"), redis_url, database_url=postgres_url
    ) as dockyard:
        assert dockyard.cli("projects", "create", PROJECT).returncode == 0
        assert dockyard.cli("apps", "create", "default", "--project", PROJECT).returncode == 0
        settings = dockyard.api(
            "environments.updateSettings",
            {
                "project": PROJECT,
                "app": "default",
                "environment": "production",
                "regions": [{"name": "local", "replicas": {"min": 2, "max": 2}}],
                "healthcheck": {
                    "method": "GET",
                    "path": "/healthz",
                    "intervalSeconds": 1,
                    "initialDelaySeconds": 2,
                },
            },
        )
        assert settings.status_code == 200, settings.text
        first = dockyard.cli("deploy", demo_images["v1"], "--project", PROJECT)
        assert first.returncode == 0, first.stderr
        # Plain polling: a sync fixture must not assume it may run an event loop of its own.
        deadline = time.monotonic() + 60
        while dockyard.through_edge(LIVE, "/version.txt").status_code != 200:
            assert time.monotonic() < deadline, f"{LIVE} never answered"
            time.sleep(0.2)
        yield dockyard


def status_of(yard: Dockyard, deployment_id: str) -> str | None:
    """The deployment's status, or None while the API does not answer (it may be down)."""
    try:
        response = yard.api("deployments.getDeployment", {"deploymentId": deployment_id})
    except Exception:
        return None
    return response.json()["data"]["status"] if response.status_code == 200 else None


async def until_status(
    yard: Dockyard, deployment_id: str, wanted: set[str], timeout: float = 120
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await asyncio.to_thread(status_of, yard, deployment_id)
        if status in wanted:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{deployment_id} never reached {wanted}")


def start_deploy(yard: Dockyard, image: str) -> str:
    result = yard.cli("deploy", image, "--project", PROJECT, "--detach")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1]


def owned_sweep(yard: Dockyard) -> Sweep:
    sessions = make_sessionmaker(make_engine(yard.settings.database_url))
    return sweep(sessions, DockerRuntime(owner=yard.settings.task_queue_prefix))


async def run_scenario(
    yard: Dockyard,
    name: str,
    image: str,
    inject: Callable[[str], Awaitable[None]],
) -> Outcome:
    """Deploy `image` under load on the live domain and inject the fault into it."""
    stop = asyncio.Event()
    load = asyncio.create_task(
        steady_load(
            f"http://127.0.0.1:{yard.settings.edge_port}/version.txt",
            host=LIVE,
            rate=100,
            stop=stop,
        )
    )
    await asyncio.sleep(0.5)
    deployment_id = await asyncio.to_thread(start_deploy, yard, image)
    await inject(deployment_id)
    status = await until_status(yard, deployment_id, FINAL)
    await asyncio.sleep(1)
    stop.set()
    tally = await load
    RESULTS.append((name, tally))
    return Outcome(tally=tally, status=status, sweep=owned_sweep(yard))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.write_sep("=", "fault scenarios: requests to the live domain")
        terminalreporter.write_line(table(RESULTS))
