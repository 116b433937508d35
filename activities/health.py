"""Probes that decide whether a new instance may take traffic."""

from __future__ import annotations

import socket

import httpx

from dockyard.specs import HealthCheck

# Without a configured check, "accepts connections" means it answers an HTTP request with
# anything at all: Docker's port proxy accepts TCP on a published port before the app
# listens, so a bare connect proves nothing.
_ANY_REQUEST = b"GET / HTTP/1.0\r\nHost: localhost\r\nUser-Agent: dockyard-health\r\n\r\n"

# How long a new instance without a configured check may take to answer.
NO_CHECK_DEADLINE_SECONDS = 30.0


def startup_deadline_seconds(check: HealthCheck | None) -> float:
    """How long new instances may take to become healthy before they count as failed."""
    return check.startup_deadline_seconds if check else NO_CHECK_DEADLINE_SECONDS


def probe(address: str, check: HealthCheck | None) -> str | None:
    """None when the instance is healthy, otherwise why it is not."""
    if check is None:
        return _answers_at_all(address)
    url = f"http://{address}{check.path}"
    try:
        response = httpx.request(check.method, url, timeout=check.timeout_seconds)
    except httpx.HTTPError as error:
        return f"{check.method} {check.path} failed: {error or type(error).__name__}"
    if response.status_code >= 400:
        return f"{check.method} {check.path} answered {response.status_code}"
    return None


def _answers_at_all(address: str) -> str | None:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2) as connection:
            connection.sendall(_ANY_REQUEST)
            if connection.recv(1):
                return None
            return "the port accepted a connection but closed it without answering"
    except OSError as error:
        return f"the port does not accept connections: {error}"
