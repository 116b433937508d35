"""`dockyard root-keys create`: through the API with a key; `--local` only for the first."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.conftest import Dockyard


def test_create_through_the_api_never_widens_the_key(dockyard: Dockyard) -> None:
    made = dockyard.cli(
        "root-keys",
        "create",
        "--name",
        "ci",
        "--permission",
        "project.*.read_project",
        "--permission",
        "unkey:v1:*:rootKeys/*#write",
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("dy_root_")
    assert dockyard.api("projects.listProjects", {}, root_key=key).status_code == 200
    denied = dockyard.api("projects.createProject", {"name": "X", "slug": "xyz"}, key)
    assert denied.status_code == 403

    wider = dockyard.cli(
        "root-keys", "create", "--permission", "project.*.create_project", root_key=key
    )
    assert wider.returncode == 1 and "project.*.create_project" in wider.stderr

    without_key = dockyard.cli("root-keys", "create", root_key="")
    assert without_key.returncode == 1 and "--local" in without_key.stderr


def test_local_writes_the_first_key_into_the_database(dockyard: Dockyard) -> None:
    environment = {
        **os.environ,
        "DOCKYARD_HOME": str(dockyard.settings.home),
        "DOCKYARD_WORKSPACE": dockyard.settings.workspace,
        "DOCKYARD_ROOT_KEY": "",
    }
    made = subprocess.run(
        [sys.executable, "-m", "dockyard", "root-keys", "create", "--local", "--name", "first"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert dockyard.api("rootKeys.listKeys", {}, root_key=key).status_code == 200
