"""GET /tls/ask: the edge's question before it orders a certificate for a name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, inspect, select
from unkey.py import Unkey

from dockyard.ids import new_id
from dockyard.models import Domain, Environment, Project
from tests.api.conftest import FakeDns, RunningApi, Shop, api_settings, assert_error, serve

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")

API_DOMAIN = "dockyard.acme.com"
LIVE = "shop-web-acme.localhost"


@pytest.fixture
def api(
    tmp_path: Path, database_url: str, temporal_address: str, fake_dns: FakeDns
) -> Iterator[RunningApi]:
    """The API, serving itself at API_DOMAIN too (written as users may: any case, a dot)."""
    settings = api_settings(tmp_path, database_url, temporal_address)
    settings.api_domain = "Dockyard.Acme.com."
    with serve(settings, fake_dns) as running:
        yield running


@pytest.fixture
def ask(api: RunningApi) -> Iterator[Any]:
    # Caddy sends no credentials; neither does this client.
    with api.http(root_key=None) as client:

        def asking(domain: str | None) -> httpx.Response:
            return client.get("/tls/ask", params={} if domain is None else {"domain": domain})

        yield asking


def attach(unkey: Unkey, name: str) -> str:
    created = unkey.domains.create_domain(
        project="shop", app="web", environment="production", domain=name
    ).data
    return created.dns_records[1].value


def verify(unkey: Unkey, fake_dns: FakeDns, name: str, token: str) -> None:
    fake_dns.txt_records[f"_dockyard.{name}"] = [token]
    fake_dns.cnames[name] = "shop-web-production-acme.localhost"
    unkey.domains.verify_domain(domain=name)
    assert unkey.domains.get_domain(domain=name).data.status.value == "verified"


def add_generated(db: Any, hostname: str, kind: str = "live") -> None:
    """A domain as the deployment workflow assigns it (no worker runs in these tests)."""
    with db() as session, session.begin():
        environment = session.scalars(
            select(Environment).where(Environment.slug == "production")
        ).one()
        workspace_id = session.scalars(
            select(Project.workspace_id).where(Project.id == environment.project_id)
        ).one()
        session.add(
            Domain(
                id=new_id("domain"),
                hostname=hostname,
                kind=kind,
                workspace_id=workspace_id,
                project_id=environment.project_id,
                app_id=environment.app_id,
                environment_id=environment.id,
                deployment_id="d_x",
            )
        )


def test_a_verified_custom_domain_may_have_a_certificate(
    ask: Any, unkey: Unkey, shop: Shop, fake_dns: FakeDns
) -> None:
    token = attach(unkey, "api.acme.com")
    assert_error(ask("api.acme.com"), 404, detail_has="not verified")

    verify(unkey, fake_dns, "api.acme.com", token)
    # The name as a TLS client may send it: any case, a trailing dot.
    for asked in ("api.acme.com", "API.Acme.COM", "api.acme.com."):
        response = ask(asked)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"domain": "api.acme.com", "reason": "custom"}


def test_an_unverified_custom_domain_may_not(ask: Any, unkey: Unkey, shop: Shop) -> None:
    attach(unkey, "shop.acme.com")
    error = assert_error(ask("shop.acme.com"), 404, detail_has="'shop.acme.com'")
    assert error["type"] == "not-found"
    assert "not verified" in error["detail"]


def test_a_generated_domain_may_have_a_certificate(ask: Any, shop: Shop, db: Any) -> None:
    add_generated(db, LIVE)
    add_generated(db, "shop-web-git-1a2b3c4-acme.localhost", kind="commit")
    assert ask(LIVE).json()["data"] == {"domain": LIVE, "reason": "live"}
    assert ask("SHOP-web-git-1a2b3c4-acme.localhost.").json()["data"]["reason"] == "commit"


def test_the_api_hostname_may_have_a_certificate(ask: Any) -> None:
    for asked in (API_DOMAIN, "DOCKYARD.acme.com."):
        response = ask(asked)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"domain": API_DOMAIN, "reason": "api"}


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        ("unknown.acme.com", "serves no domain"),
        ("localhost", "serves no domain"),  # the bare apex
        ("acme.com", "serves no domain"),  # the parent of the API's own hostname
        ("*.localhost", "wildcard"),
        ("*.acme.com", "wildcard"),
        ("127.0.0.1", "IP address"),
        ("::1", "IP address"),
        ("[2001:db8::1]", "IP address"),
    ],
)
def test_names_dockyard_does_not_serve_get_none(
    ask: Any, shop: Shop, db: Any, domain: str, says: str
) -> None:
    add_generated(db, LIVE)
    assert_error(ask(domain), 404, detail_has=says)


@pytest.mark.parametrize(
    ("domain", "location"),
    [
        (None, "query.domain"),
        ("", "query.domain"),
        ("https://api.acme.com/", "query.domain"),
        ("api acme.com", "query.domain"),
        ("api..acme.com", "query.domain"),
        ("-api.acme.com", "query.domain"),
        ("a" * 64 + ".acme.com", "query.domain"),
    ],
)
def test_a_missing_or_malformed_name_is_a_bad_request(
    ask: Any, domain: str | None, location: str
) -> None:
    error = assert_error(ask(domain), 400)
    assert [field["location"] for field in error["errors"]] == [location]


def test_one_indexed_read_and_no_write(ask: Any, unkey: Unkey, shop: Shop, db: Any) -> None:
    attach(unkey, "pending.acme.com")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    # The API runs in this process: a listener on every engine sees its statements.
    event.listen(Engine, "before_cursor_execute", record)
    try:
        for asked in ("pending.acme.com", "stranger.example.org", API_DOMAIN, "127.0.0.1"):
            ask(asked)
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert not [text for text in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", text, re.I)]
    lookups = [text for text in statements if "FROM domains" in text]
    # The API's own hostname and an IP address are answered without the database.
    assert len(lookups) == 2, lookups
    assert all(re.search(r"WHERE domains\.hostname = \S+\s*$", text) for text in lookups), lookups
    unique = inspect(db.kw["bind"]).get_unique_constraints("domains")
    assert ["hostname"] in [constraint["column_names"] for constraint in unique]
