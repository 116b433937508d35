"""Hostile input, generated: schemathesis fuzzes every operation of dockyard's own OpenAPI
document. No 5xx may come back, and every response must match its documented schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Dockyard


def test_no_operation_answers_5xx_or_off_schema(dockyard: Dockyard, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run(
        [
            st,
            "run",
            f"{dockyard.settings.api_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {dockyard.root_key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "3",
            "--workers",
            "2",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    assert "passed" in summary
