"""One dockyard on PostgreSQL for every hostile-input test: the echo app live behind the
edge, and an app connected to a repository for GitHub's deliveries."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from pydantic import SecretStr

from dockyard.images import busybox_base
from tests.e2e.conftest import Dockyard, start_dockyard

PROJECT = "hostile"
LIVE = f"{PROJECT}-acme.localhost"
REPOSITORY = "acme/hostile"
WEBHOOK_SECRET = f"webhook-{secrets.token_hex(8)}"
ECHO_CONTEXT = Path(__file__).parent / "echo"
ECHO_IMAGE = "dockyard-tests/echo:hostile"


@pytest.fixture(scope="package")
def echo_image(docker_client: docker.DockerClient) -> str:
    docker_client.images.build(
        path=str(ECHO_CONTEXT),
        tag=ECHO_IMAGE,
        buildargs={"BASE_IMAGE": busybox_base(docker_client)},
        rm=True,
    )
    return ECHO_IMAGE


@pytest.fixture(scope="package")
def yard(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    postgres_url: str,
    echo_image: str,
) -> Iterator[Dockyard]:
    """PostgreSQL, because it refuses what SQLite stores (a NUL byte in text, say): input
    that reaches the database unchecked shows up as a 500 there."""
    repos = tmp_path_factory.mktemp("git-host")
    with start_dockyard(
        tmp_path_factory.mktemp("hostile"),
        redis_url,
        database_url=postgres_url,
        github_webhook_secret=SecretStr(WEBHOOK_SECRET),
        # Nothing is ever pushed there: a delivery's build fails at once, costing nothing.
        git_clone_url=f"file://{repos}/{{repository}}.git",
    ) as dockyard:
        dockyard.secrets.add(WEBHOOK_SECRET)
        assert dockyard.cli("projects", "create", PROJECT).returncode == 0
        assert dockyard.cli("apps", "create", "default", "--project", PROJECT).returncode == 0
        connected = dockyard.api(
            "apps.createApp",
            {
                "project": PROJECT,
                "slug": "shop",
                "name": "Shop",
                "git": {"repository": REPOSITORY, "defaultBranch": "main"},
            },
        )
        assert connected.status_code < 300, connected.text
        deployed = dockyard.cli("deploy", echo_image, "--project", PROJECT)
        assert deployed.returncode == 0, deployed.stderr
        deadline = time.monotonic() + 60
        while dockyard.through_edge(LIVE, "/healthz").status_code != 200:
            assert time.monotonic() < deadline, f"{LIVE} never answered"
            time.sleep(0.2)
        yield dockyard
