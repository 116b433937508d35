"""A real uvicorn server on a free port, driven by Unkey's own SDK and by raw HTTP.

Each test gets its own database (SQLite and PostgreSQL, via `database_url`), the shared
Temporal dev server and its own task queue prefix, so no worker ever picks up the
workflows these tests start: they wait, and the tests look at them through Temporal.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey, models

from api.dns import LookupFailed
from api.main import create_app
from api.server import GuardedHttpTools
from dockyard.db import make_engine, make_sessionmaker
from dockyard.settings import Settings

ROOT_KEY = "dy_root_test_" + secrets.token_hex(8)
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class RunningApi:
    url: str
    settings: Settings

    def http(self, root_key: str | None = ROOT_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {root_key}"} if root_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeDns:
    """The resolver custom domains are verified through: answers from dicts tests fill."""

    def __init__(self) -> None:
        self.txt_records: dict[str, list[str]] = {}
        self.cnames: dict[str, str] = {}
        self.failing = False

    async def txt(self, name: str) -> list[str]:
        if self.failing:
            raise LookupFailed(f"TXT {name}: the nameserver timed out")
        return list(self.txt_records.get(name, []))

    async def cname(self, name: str) -> str | None:
        return self.cnames.get(name)


@contextmanager
def serve(settings: Settings, resolver: FakeDns | None = None) -> Iterator[RunningApi]:
    """The API of `create_app(settings)` under uvicorn as `python -m api` serves it, in a
    thread, until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, resolver=resolver or FakeDns())
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", http=GuardedHttpTools))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start; see the log above")
        time.sleep(0.02)
    try:
        yield RunningApi(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def api_settings(tmp_path: Path, database_url: str, temporal_address: str) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        temporal_address=temporal_address,
        root_key=ROOT_KEY,
        workspace="acme",
        task_queue_prefix=f"api-test-{secrets.token_hex(4)}",
    )


@pytest.fixture
def fake_dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
def api(
    tmp_path: Path, database_url: str, temporal_address: str, fake_dns: FakeDns
) -> Iterator[RunningApi]:
    with serve(api_settings(tmp_path, database_url, temporal_address), fake_dns) as running:
        yield running


@pytest.fixture
def unkey(api: RunningApi) -> Iterator[Unkey]:
    with Unkey(server_url=api.url, root_key=ROOT_KEY) as sdk:
        yield sdk


@pytest.fixture
def http(api: RunningApi) -> Iterator[httpx.Client]:
    with api.http() as client:
        yield client


@pytest.fixture
def db(api: RunningApi) -> Iterator[sessionmaker[Session]]:
    """The API's database, for looking behind it: what was (not) written."""
    engine = make_engine(api.settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@dataclass(frozen=True)
class Shop:
    """A project `shop` with an app `web`, made through the SDK."""

    project_id: str
    app_id: str


@pytest.fixture
def shop(unkey: Unkey) -> Shop:
    project = unkey.projects.create_project(name="Shop", slug="shop")
    request: models.V2AppsCreateAppRequestBody1TypedDict = {
        "project": "shop",
        "name": "Web",
        "slug": "web",
        "git": {},  # Unkey's "connect a repository later"; the image comes with each deploy
    }
    app = unkey.apps.create_app(request=request)
    return Shop(project_id=project.data.id, app_id=app.data.app_id)


def assert_error(response: httpx.Response, status: int, *, detail_has: str = "") -> dict[str, Any]:
    """Unkey's error envelope, with the given status; returns its `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["meta"]["requestId"].startswith("req_")
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    assert error["title"] and error["type"] and error["detail"]
    assert detail_has in error["detail"], error["detail"]
    assert ("errors" in error) == (status == 400)
    return error
