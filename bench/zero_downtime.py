"""Zero downtime, measured: steady load on the live domain while it changes hands.

    python -m bench.zero_downtime [--rate 150]

Starts a private stack with a 4 s standby window, then under load: deploys v2 over v1,
rolls back to v1, promotes v2, lets v1's standby run out (it stops), and promotes the
stopped v1 (it starts, passes its health check, then takes traffic). Prints what was
sent, what succeeded, what failed and what got no answer at all.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import docker

from bench.loadgen import Tally, steady_load, table, until_serving
from dockyard.cli.dev import free_port, private_edge_ports, running_stack
from dockyard.images import build_demo
from dockyard.runtime import DockerRuntime
from dockyard.settings import Settings, settings_environment

STANDBY = timedelta(seconds=4)
PROJECT = "calm"

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Outcome:
    tally: Tally
    expired_status: str  # v1's status once its standby ran out: it must say stopped


async def scenario(cli: Cli, edge_port: int, images: dict[str, str], rate: float) -> Outcome:
    """Run the moves under load; `cli(*args)` runs one `dockyard` command."""

    def run(*args: str) -> str:
        result = cli(*args)
        if result.returncode != 0:
            raise RuntimeError(f"dockyard {' '.join(args)} failed: {result.stderr}")
        return str(result.stdout)

    async def step(*args: str) -> str:
        return await asyncio.to_thread(run, *args)

    run("projects", "create", PROJECT)
    run("apps", "create", "default", "--project", PROJECT)
    v1 = run("deploy", images["v1"], "--project", PROJECT).split()[1]
    url, host = f"http://127.0.0.1:{edge_port}/version.txt", f"{PROJECT}-acme.localhost"
    await until_serving(url, host=host)
    stop = asyncio.Event()
    load = asyncio.create_task(steady_load(url, host=host, rate=rate, stop=stop))
    await asyncio.sleep(1)
    v2 = (await step("deploy", images["v2"], "--project", PROJECT)).split()[1]
    await asyncio.sleep(1)
    await step("rollback", v1)
    await asyncio.sleep(1)
    await step("promote", v2)
    await asyncio.sleep(STANDBY.total_seconds() + 4)  # v1's standby runs out: it stops
    expired_status = (await step("deployments", "get", v1)).split()[1]
    await step("promote", v1)  # started again, healthy, then live
    await asyncio.sleep(1)
    stop.set()
    return Outcome(tally=await load, expired_status=expired_status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=150.0, help="requests per second")
    args = parser.parse_args()
    client = docker.from_env()
    images = {version: build_demo(client, version) for version in ("v1", "v2")}
    root_key = f"dy_bench_{secrets.token_urlsafe(16)}"
    with tempfile.TemporaryDirectory(prefix="dockyard-zd-") as home:
        settings = Settings(
            home=Path(home),
            root_key=root_key,
            workspace="acme",
            standby_time=STANDBY,
            api_port=free_port(),
            **private_edge_ports(),
            temporal_port=free_port(),
            temporal_ui_port=free_port(),
            task_queue_prefix=f"zd-{secrets.token_hex(3)}",
        )
        environment = settings_environment(settings)

        def cli(*command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "dockyard", *command],
                env=environment,
                capture_output=True,
                text=True,
                timeout=180,
            )

        with running_stack(settings, echo=False):
            outcome = asyncio.run(scenario(cli, settings.edge_port, images, args.rate))
        DockerRuntime(owner=settings.task_queue_prefix).remove_owned()
    tally = outcome.tally
    print(table([("deploy, rollback, promote, expiry", tally)]))
    print(f"responses by version: {dict(tally.bodies)}; statuses: {dict(tally.statuses)}")
    print(f"v1 after its standby window: {outcome.expired_status}")
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
