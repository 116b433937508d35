"""The connection file: private, whole or absent, and below every environment variable."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.cli import client
from dockyard.cli.client import CONNECTION_FILE, Connection

SAVED = Connection(
    api_url="http://127.0.0.1:38000",
    edge_port=38080,
    edge_https_port=38443,
    apex_domain="localhost",
    temporal_ui_url="http://127.0.0.1:38233",
    root_key="dy_root_saved",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (
        "DOCKYARD_API_URL",
        "DOCKYARD_API_PORT",
        "DOCKYARD_ROOT_KEY",
        "UNKEY_ROOT_KEY",
        "DOCKYARD_TEMPORAL_UI_URL",
        "DOCKYARD_TEMPORAL_UI_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path))
    client.saved.cache_clear()
    yield tmp_path
    client.saved.cache_clear()


def test_saved_file_is_readable_only_by_its_owner(home: Path) -> None:
    SAVED.save(home)

    assert stat.S_IMODE((home / CONNECTION_FILE).stat().st_mode) == 0o600
    assert Connection.load(home) == SAVED
    assert [path.name for path in home.iterdir()] == [CONNECTION_FILE]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"api_url": "x"}'])
def test_an_unreadable_file_is_no_connection(home: Path, text: str) -> None:
    (home / CONNECTION_FILE).write_text(text)

    assert Connection.load(home) is None
    assert client.api_url_of("") == client.DEFAULT_API_URL


def test_saved_values_fill_in_what_the_environment_leaves_out(home: Path) -> None:
    SAVED.save(home)

    assert client.api_url_of("") == SAVED.api_url
    assert client.root_key_of("") == SAVED.root_key
    assert client.edge_port_of(None) == SAVED.edge_port
    assert client.temporal_ui_of("") == SAVED.temporal_ui_url


def test_environment_and_options_win(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SAVED.save(home)
    monkeypatch.setenv("DOCKYARD_API_PORT", "39000")
    monkeypatch.setenv("DOCKYARD_TEMPORAL_UI_PORT", "39233")
    monkeypatch.setenv("DOCKYARD_ROOT_KEY", "")

    assert client.api_url_of("") == "http://127.0.0.1:39000"
    assert client.api_url_of("http://api.example") == "http://api.example"
    assert client.temporal_ui_of("") == "http://127.0.0.1:39233"
    assert client.root_key_of("") == ""
    assert client.edge_port_of(9080) == 9080
