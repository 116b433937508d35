"""The whole stack as a user runs it: `dockyard dev`'s processes on private ports."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.cli.dev import RunningStack, free_port, private_edge_ports, running_stack
from dockyard.runtime import DockerRuntime
from dockyard.settings import Settings


@dataclass(frozen=True)
class Dockyard:
    settings: Settings
    running: RunningStack
    root_key: str
    # Values that must never reach a log line; checked when the stack stops.
    secrets: set[str] = field(default_factory=set)

    def cli(
        self, *args: str, root_key: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "DOCKYARD_API_URL": self.settings.api_url,
            "DOCKYARD_ROOT_KEY": self.root_key if root_key is None else root_key,
            "DOCKYARD_EDGE_PORT": str(self.settings.edge_port),
        }
        return subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            env=environment,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def through_edge(self, hostname: str, path: str = "/") -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.settings.edge_port}{path}",
            headers={"Host": hostname},
            # A new environment's first request waits for its Sentinel replicas to start.
            timeout=30,
        )

    def api(self, operation: str, body: dict, root_key: str | None = None) -> httpx.Response:
        key = self.root_key if root_key is None else root_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(
            f"{self.settings.api_url}/v2/{operation}", json=body, headers=headers, timeout=30
        )


@contextmanager
def start_dockyard(home: Path, redis_url: str, **overrides: Any) -> Iterator[Dockyard]:
    """A private dockyard: worker, API and edge processes on their own ports and database."""
    root_key = f"dy_test_{secrets.token_urlsafe(16)}"
    settings = Settings(
        home=home,
        redis_url=redis_url,
        root_key=root_key,
        workspace="acme",
        api_port=free_port(),
        **private_edge_ports(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        task_queue_prefix=f"e2e-{secrets.token_hex(4)}",
        **overrides,
    )
    try:
        with running_stack(settings, echo=False) as running:
            dockyard = Dockyard(
                settings=settings, running=running, root_key=root_key, secrets={root_key}
            )
            yield dockyard
        assert_no_secret_in_logs(settings.home / "logs", dockyard.secrets)
    finally:
        _print_logs_on_failure(settings.home / "logs")
        DockerRuntime(owner=settings.task_queue_prefix).remove_owned()


@pytest.fixture(scope="session")
def dockyard(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, demo_images: dict[str, str]
) -> Iterator[Dockyard]:
    with start_dockyard(tmp_path_factory.mktemp("dockyard-home"), redis_url) as running:
        yield running


def assert_no_secret_in_logs(logs: Path, secrets: set[str]) -> None:
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        leaked = sorted(secret for secret in secrets if secret and secret in text)
        assert not leaked, f"{log.name} contains {len(leaked)} secret value(s)"


def _print_logs_on_failure(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines)\n" + "\n".join(tail))
