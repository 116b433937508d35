"""`python -m api`: the process users run, configured only by DOCKYARD_* variables."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_api_serves_and_shows_its_first_root_key(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DOCKYARD_HOME": str(tmp_path),
        "DOCKYARD_API_PORT": str(port),
        # Temporal is not running: the API must start anyway.
        "DOCKYARD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    env.pop("DOCKYARD_ROOT_KEY", None)
    log = tmp_path / "api.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    try:
        key = None
        deadline = time.monotonic() + 30
        while key is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            found = re.search(r"shown only now\): (\S+)", log.read_text())
            key = found.group(1) if found else None
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                response = httpx.post(
                    f"{url}/v2/projects.listProjects",
                    json={},
                    headers={"Authorization": f"Bearer {key}"},
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []
        assert (tmp_path / "dockyard.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=15)
