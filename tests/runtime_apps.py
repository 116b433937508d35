"""App images that print numbered lines, built locally on busybox (no registry)."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from typing import TypeVar

import docker
from docker.models.containers import Container
from sqlalchemy.orm import Session, sessionmaker

from dockyard.ids import new_id
from dockyard.images import busybox_base
from dockyard.models import Deployment
from tests.seed import seed_app

CRASHER = "dockyard/test-crasher:local"
PRINTER = "dockyard/test-printer:local"
T = TypeVar("T")
CRASH_CODE = 3
CRASHER_LINES = 3
# What the crasher prints, each line on its stream: then it exits with CRASH_CODE.
CRASHER_SCRIPT = (
    f"i=1; while [ $i -le {CRASHER_LINES} ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; "
    f"exit {CRASH_CODE}"
)
PRINTER_LINES = 400
GO = "/www/go"
# Serves HTTP on 8080 (so it becomes healthy); once GO exists, prints a numbered line on
# each stream every 20 ms, then keeps serving.
PRINTER_SCRIPT = (
    "httpd -p 8080 -h /www; "
    f"while [ ! -e {GO} ]; do usleep 20000; done; "
    f"i=1; while [ $i -le {PRINTER_LINES} ]; do echo tick $i; echo tock $i >&2; "
    "i=$((i+1)); usleep 20000; done; exec sleep 1000000"
)


def build_log_apps(client: docker.DockerClient) -> dict[str, str]:
    base = busybox_base(client)
    for tag, script in ((CRASHER, CRASHER_SCRIPT), (PRINTER, PRINTER_SCRIPT)):
        dockerfile = (
            f"FROM {base}\n"
            "RUN mkdir -p /www && echo ok > /www/healthz\n"
            "EXPOSE 8080\n"
            f'CMD ["sh", "-c", "{script}"]\n'
        ).encode()
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as archive:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            archive.addfile(info, io.BytesIO(dockerfile))
        context.seek(0)
        client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return {"crasher": CRASHER, "printer": PRINTER}


def start_printing(container: Container) -> None:
    done = container.exec_run(["touch", GO])
    assert done.exit_code == 0, done.output


def poll(read: Callable[[], T], done: Callable[[T], bool], what: str, within: float = 60) -> T:
    """Read until `done` holds for what was read; that last reading."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: not within {within:.0f}s; last: {value!r}"
        time.sleep(0.1)


def new_deployment(sessions: sessionmaker[Session]) -> str:
    """A deployment row (of a new project) for lines to belong to."""
    seeded = seed_app(sessions, project=f"logs-{new_id('project')[-6:].lower()}")
    with sessions.begin() as session:
        row = Deployment(
            id=new_id("deployment"),
            workspace_id=seeded.workspace.id,
            project_id=seeded.project.id,
            app_id=seeded.app.id,
            environment_id=seeded.production.id,
            source="image",
        )
        session.add(row)
        return row.id
