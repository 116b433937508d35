"""Certificates from a real ACME CA: the region edge against Pebble (Let's Encrypt's test
CA) on loopback, with Settings.tls "acme" as production runs it."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dockyard.cli.dev import private_edge_ports
from dockyard.custom_domains import VERIFIED
from dockyard.ids import new_id
from dockyard.models import Domain
from dockyard.settings import Settings
from tests.api.conftest import serve
from tests.pebble import Pebble, running_pebble
from tests.sentinel.conftest import Rows, Upstream
from tests.sentinel.region_edge import edge_process

StartUpstream = Callable[..., Awaitable[Upstream]]
CUSTOM = "api.shop.example"
UNVERIFIED = "pending.shop.example"


@pytest.fixture
def ports() -> dict[str, int]:
    return private_edge_ports()


@pytest.fixture
def pebble(ports: dict[str, int], tmp_path: Path) -> Iterator[Pebble]:
    workdir = tmp_path / "pebble"
    workdir.mkdir()
    # Pebble validates challenges where the edge listens: HTTP-01 and TLS-ALPN-01.
    with running_pebble(
        http_port=ports["edge_port"], tls_port=ports["edge_https_port"], workdir=workdir
    ) as running:
        yield running


def custom_domain(
    sessions: sessionmaker[Session], rows: Rows, hostname: str, deployment_id: str, status: str
) -> None:
    with sessions.begin() as session:
        session.add(
            Domain(
                id=new_id("domain"),
                hostname=hostname,
                kind="custom",
                status=status,
                environment_id=rows.environment_id,
                deployment_id=deployment_id,
                **rows._parents,
            )
        )


async def test_a_verified_domain_gets_a_certificate_on_first_request_and_keeps_it(
    rows: Rows,
    sessions: sessionmaker[Session],
    upstreams: StartUpstream,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    ports: dict[str, int],
    pebble: Pebble,
) -> None:
    shop = await upstreams("shop")
    deployment_id = rows.deployment()
    rows.instance(deployment_id, shop.address)
    custom_domain(sessions, rows, CUSTOM, deployment_id, VERIFIED)
    custom_domain(sessions, rows, UNVERIFIED, deployment_id, "pending")
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        tls="acme",
        acme_ca=pebble.directory_url,
        acme_ca_roots=pebble.wfe_roots_pem,
        acme_email="ops@shop.example",
        **ports,
    )
    roots = pebble.issuer_roots_pem()
    with serve(settings) as api:
        async with edge_process(settings, api.url) as edge:
            await edge.health()
            # Only HTTP-01: the challenge must get through the port that redirects.
            async with httpx.AsyncClient(timeout=10) as admin:
                only_http = await admin.put(
                    f"http://127.0.0.1:{settings.edge_admin_port}"
                    "/config/apps/tls/automation/policies/0/issuers/0/challenges",
                    json={"tls-alpn": {"disabled": True}},
                )
            assert only_http.status_code == 200, only_http.text
            assert pebble.orders() == 0

            async with edge.https_client(roots) as client:
                response = await edge.https_get(client, CUSTOM)
            assert response.status_code == 200
            assert response.json()["instance"] == "shop"
            assert pebble.orders() == 1

            # Strangers get no certificate, and cost no order.
            for stranger in (UNVERIFIED, "random.example.net"):
                with pytest.raises(ssl.SSLError):
                    edge.handshake(stranger, ssl.create_default_context(cadata=roots))
            assert pebble.orders() == 1

            async with httpx.AsyncClient(timeout=10) as client:
                plain = await client.get(
                    f"{edge.http}/cart?id=7", headers={"Host": CUSTOM}, follow_redirects=False
                )
            assert plain.status_code == 308
            https_port = settings.edge_https_port
            assert plain.headers["location"] == f"https://{CUSTOM}:{https_port}/cart?id=7"

        # A new edge process: the certificate comes from storage, no new order.
        async with edge_process(settings, api.url) as edge:
            await edge.health()
            async with edge.https_client(roots) as client:
                response = await edge.https_get(client, CUSTOM)
            assert response.status_code == 200
            assert pebble.orders() == 1
