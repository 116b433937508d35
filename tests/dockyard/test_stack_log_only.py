"""`dockyard dev`'s terminal leaves out the API's access lines; api.log keeps them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dockyard.cli.dev import ACCESS_LINE
from dockyard.cli.stack import _show

API_OUTPUT = """\
INFO:     Started server process [15613]
INFO:     127.0.0.1:52082 - "POST /v2/projects.createProject HTTP/1.1" 200 OK
INFO:     127.0.0.1:52082 - "POST /v2/deployments.createDeployment HTTP/1.1" 201 Created
WARNING:  Invalid HTTP request received.
INFO:     [::1]:40000 - "GET /dashboard HTTP/1.1" 404 Not Found
INFO:     Application startup complete.
"""


def test_access_lines_go_to_the_log_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "api.log"

    _show("api", io.BytesIO(API_OUTPUT.encode()), log, ACCESS_LINE)

    assert log.read_text() == API_OUTPUT
    assert capsys.readouterr().out.splitlines() == [
        "   api | INFO:     Started server process [15613]",
        "   api | WARNING:  Invalid HTTP request received.",
        "   api | INFO:     Application startup complete.",
    ]
