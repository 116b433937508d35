"""What the region tests deploy and how they load it: an app that says which region
serves it, and steady load in a thread of its own while the test moves hosts around."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import docker

from bench.loadgen import Tally, steady_load, until_serving
from dockyard.images import busybox_base

REGION_APP = "dockyard/test-region:local"
# Answers only after a while: a deployment of it is still `deploying` when its host dies.
SLOW_APP = "dockyard/test-region:slow"
SLOW_SECONDS = 20
_SCRIPT = (
    "mkdir -p /www && echo $DOCKYARD_REGION > /www/region.txt && "
    "echo $DOCKYARD_DEPLOYMENT_ID > /www/deployment.txt && "
    "sleep {delay} && exec httpd -f -p 8080 -h /www"
)


def build_region_apps(client: docker.DockerClient) -> list[str]:
    """Built here from the local busybox base: nothing is pulled."""
    base = busybox_base(client)
    for tag, delay in ((REGION_APP, 0), (SLOW_APP, SLOW_SECONDS)):
        dockerfile = (
            f'FROM {base}\nEXPOSE 8080\nCMD ["sh", "-c", "{_SCRIPT.format(delay=delay)}"]\n'
        ).encode()
        # A Dockerfile that copies nothing needs no build context around it.
        client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)
    return [REGION_APP, SLOW_APP]


class Load:
    """Steady requests to one domain through one edge; `tally` once stopped."""

    def __init__(self) -> None:
        self.tally = Tally()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()


@contextmanager
def steady(edge: str, host: str, *, rate: float = 40, path: str = "/region.txt") -> Iterator[Load]:
    """Load from a thread of its own while the block runs; counted when it ends."""
    load = Load()
    url = f"{edge}{path}"

    async def run() -> None:
        await until_serving(url, host=host)
        load.tally = await steady_load(url, host=host, rate=rate, stop=load._stop)

    started = threading.Event()

    def thread() -> None:
        asyncio.set_event_loop(load._loop)
        started.set()
        load._loop.run_until_complete(run())

    worker = threading.Thread(target=thread, daemon=True)
    worker.start()
    started.wait()
    try:
        yield load
    finally:
        load._loop.call_soon_threadsafe(load._stop.set)
        worker.join(timeout=60)
