"""api.temporal without a server: a call Temporal fails is a 503 saying what did not happen."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ServiceUnavailable
from api.temporal import TemporalConnection
from dockyard.settings import Settings

NOT_DONE = "The promote of deployment d_1 was not sent; nothing changed."


def connected(tmp_path: Path) -> tuple[TemporalConnection, Client]:
    temporal = TemporalConnection(Settings(home=tmp_path, temporal_address="127.0.0.1:1"))
    client = cast(Client, object())
    temporal._client = client  # as if the background loop had connected
    return temporal, client


async def test_a_failed_call_is_a_503_and_drops_the_client(tmp_path: Path) -> None:
    temporal, client = connected(tmp_path)
    with pytest.raises(ServiceUnavailable) as refused:
        async with temporal.calling(NOT_DONE) as given:
            assert given is client
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    assert refused.value.detail == (
        f"Temporal at 127.0.0.1:1 could not be used (connection refused). {NOT_DONE}"
    )
    assert refused.value.headers == {"Retry-After": "5"}
    assert temporal._client is None  # reconnected before the next call


async def test_a_refusal_keeps_the_client_and_other_errors_pass(tmp_path: Path) -> None:
    temporal, client = connected(tmp_path)
    with pytest.raises(ServiceUnavailable):
        async with temporal.calling(NOT_DONE):
            raise RPCError("no such namespace", RPCStatusCode.NOT_FOUND, b"")
    assert temporal._client is client
    with pytest.raises(KeyError):
        async with temporal.calling(NOT_DONE):
            raise KeyError("a bug, not Temporal")
