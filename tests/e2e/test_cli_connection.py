"""The CLI finds the stack `dockyard dev` started from its home's connection file alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from dockyard.cli.client import CONNECTION_FILE
from tests.e2e.conftest import Dockyard


def cli_with_home(
    dockyard: Dockyard, *args: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    """The CLI as a newcomer's shell runs it: no DOCKYARD_* setting but home and root key."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DOCKYARD_", "UNKEY_"))
    }
    clean |= {
        "DOCKYARD_HOME": str(dockyard.settings.home),
        "DOCKYARD_ROOT_KEY": dockyard.root_key,
        **environment,
    }
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def saved_connection(dockyard: Dockyard) -> dict[str, object]:
    path = dockyard.settings.home / CONNECTION_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(json.loads(path.read_text()))


def test_the_stack_saves_where_it_answers_and_no_key_it_was_given(
    dockyard: Dockyard, saved_connection: dict[str, object]
) -> None:
    settings = dockyard.settings
    assert saved_connection == {
        "api_url": settings.api_url,
        "edge_port": settings.edge_port,
        "edge_https_port": settings.edge_https_port,
        "apex_domain": settings.apex_domain,
        "temporal_ui_url": settings.temporal_ui_url,
        "root_key": "",
    }


def test_cli_with_only_its_home_reaches_the_stack_on_its_own_ports(
    dockyard: Dockyard, saved_connection: dict[str, object], demo_images: dict[str, str]
) -> None:
    settings = dockyard.settings
    assert settings.api_port != 8000 and settings.edge_port != 8080
    created = cli_with_home(dockyard, "projects", "create", "homebound")
    assert created.returncode == 0, created.stderr
    assert cli_with_home(dockyard, "apps", "create", "default", "-p", "homebound").returncode == 0

    deployed = cli_with_home(dockyard, "deploy", demo_images["v1"], "-p", "homebound")

    assert deployed.returncode == 0, deployed.stderr
    deployment_id = deployed.stdout.split()[1]
    workflow = f"{settings.temporal_ui_url}/namespaces/default/workflows/deploy-{deployment_id}"
    assert workflow in deployed.stdout
    assert f"http://homebound-acme.localhost:{settings.edge_port}/" in deployed.stdout


def test_environment_wins_over_the_saved_connection(
    dockyard: Dockyard, saved_connection: dict[str, object]
) -> None:
    elsewhere = cli_with_home(dockyard, "projects", "list", DOCKYARD_API_URL="http://127.0.0.1:9")
    assert elsewhere.returncode == 1
    assert "http://127.0.0.1:9" in elsewhere.stderr

    no_key = cli_with_home(dockyard, "projects", "list", DOCKYARD_ROOT_KEY="")
    assert no_key.returncode == 1 and "no root key" in no_key.stderr
