"""Runtime logs on the real stack: what a deployed app prints, through the CLI and the API,
including a crash's exit code, and not a line lost or repeated when the worker dies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.conftest import Dockyard, start_dockyard
from tests.runtime_apps import (
    CRASH_CODE,
    CRASHER_LINES,
    PRINTER_LINES,
    build_log_apps,
    poll,
    start_printing,
)

CREATED = re.compile(r"deployment (d_\w+) created")


@pytest.fixture(scope="module")
def log_apps(docker_client: docker.DockerClient) -> dict[str, str]:
    return build_log_apps(docker_client)


def project(yard: Dockyard, name: str) -> None:
    for args in (("projects", "create", name), ("apps", "create", "default", "--project", name)):
        result = yard.cli(*args)
        assert result.returncode == 0, result.stderr


def deployment_of(output: str) -> str:
    found = CREATED.search(output)
    assert found, output
    return found.group(1)


def runtime_log(yard: Dockyard, deployment_id: str) -> str:
    result = yard.cli("logs", deployment_id, "--runtime")
    assert result.returncode == 0, result.stderr
    return result.stdout


def stored_page(yard: Dockyard, deployment_id: str) -> list[dict]:
    """The first page of stored lines: quicker to ask than a CLI run."""
    answer = yard.api("deployments.getRuntimeLogs", {"deploymentId": deployment_id, "limit": 100})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def messages(output: str, stream: str) -> list[str]:
    """The messages of one stream, in the order shown."""
    pattern = re.compile(rf" {stream} +(.*)$")
    return [found.group(1) for line in output.splitlines() if (found := pattern.search(line))]


def test_a_crashed_app_shows_what_it_printed_and_its_exit_code(
    dockyard: Dockyard, log_apps: dict[str, str]
) -> None:
    project(dockyard, "crashy")

    deployed = dockyard.cli("deploy", log_apps["crasher"], "--project", "crashy")

    assert deployed.returncode == 1, deployed.stdout
    deployment_id = deployment_of(deployed.stdout)
    shown = poll(
        lambda: runtime_log(dockyard, deployment_id),
        lambda out: f"exited with code {CRASH_CODE}" in out,
        "the crash in the runtime log",
    )
    numbers = range(1, CRASHER_LINES + 1)
    assert messages(shown, "stdout") == [f"out {i}" for i in numbers]
    assert messages(shown, "stderr") == [f"err {i}" for i in numbers]
    assert shown.splitlines()[-1].endswith(f"── exited with code {CRASH_CODE}")

    answer = dockyard.api("deployments.getRuntimeLogs", {"deploymentId": deployment_id})
    assert answer.status_code == 200, answer.text
    entries = answer.json()["data"]
    assert {(e["stream"], e["message"]) for e in entries} >= {
        ("stdout", "out 1"),
        ("stderr", f"err {CRASHER_LINES}"),
    }
    assert entries[-1]["stream"] == "event" and entries[-1]["exitCode"] == CRASH_CODE

    followed = dockyard.cli("logs", deployment_id, "--runtime", "--follow", "--since", "1h")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == shown  # the same lines, and it ends: the app no longer runs
    assert f"deployment {deployment_id} is failed" in followed.stderr

    build_log = dockyard.cli("logs", deployment_id)
    assert build_log.returncode == 0 and build_log.stdout == ""  # an image has no build


@pytest.fixture(scope="module")
def yard(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, log_apps: dict[str, str]
) -> Iterator[Dockyard]:
    """A stack of its own: this module kills its worker."""
    home: Path = tmp_path_factory.mktemp("runtime-logs-home")
    with start_dockyard(home, redis_url) as running:
        yield running


def test_a_killed_worker_loses_and_repeats_no_line(
    yard: Dockyard, log_apps: dict[str, str], docker_client: docker.DockerClient
) -> None:
    project(yard, "chatty")
    deployed = yard.cli("deploy", log_apps["printer"], "--project", "chatty")
    assert deployed.returncode == 0, deployed.stderr
    deployment_id = deployment_of(deployed.stdout)
    (container,) = docker_client.containers.list(
        filters={"label": f"dockyard.deployment={deployment_id}"}
    )

    start_printing(container)
    poll(
        lambda: len(stored_page(yard, deployment_id)),
        lambda count: count >= 50,
        "the first lines stored",
    )
    yard.running.stack.kill("worker")
    printed_by_then = container.logs(stderr=False).count(b"\n")
    assert printed_by_then < PRINTER_LINES, "the app must still print while the worker is down"
    poll(
        lambda: container.logs(stderr=False).count(b"\n"),
        lambda count: count >= printed_by_then + 50,
        "the app printing on while the worker is down",
    )
    yard.running.stack.restart("worker")

    shown = poll(
        lambda: runtime_log(yard, deployment_id),
        lambda out: (
            len(messages(out, "stdout")) + len(messages(out, "stderr")) >= 2 * PRINTER_LINES
        ),
        "every line after the restart",
    )
    numbers = range(1, PRINTER_LINES + 1)
    assert messages(shown, "stdout") == [f"tick {i}" for i in numbers]
    assert messages(shown, "stderr") == [f"tock {i}" for i in numbers]

    container.kill()  # a crash of a serving instance: it is replaced, and its end is shown
    poll(
        lambda: runtime_log(yard, deployment_id),
        lambda out: "── exited with code 137" in out,
        "the killed instance's exit code",
    )
