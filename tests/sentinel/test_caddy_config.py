"""The edge's Caddy configuration, built from settings and routes (pure; no Caddy here:
tests/sentinel/test_edge.py and test_edge_acme.py run the real one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.settings import Settings
from sentinel.caddy_config import (
    EnvironmentRoute,
    Listeners,
    changed_routes,
    full_config,
    routed_servers,
)

SHOP = EnvironmentRoute("env_shop", ("shop-acme.localhost",), ("127.0.0.1:24001",))
BLOG = EnvironmentRoute("env_blog", ("blog-acme.localhost",), ("127.0.0.1:24002",))
LISTENERS = Listeners(http=3, https=4, quic=5)


def config(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return full_config(
        Settings(home=tmp_path, **settings),
        [SHOP, BLOG],
        storage=tmp_path / "caddy",
        control_url="http://127.0.0.1:8099",
        listeners=LISTENERS,
    )


def hosts(server: dict[str, Any]) -> list[list[str]]:
    return [match["host"] for route in server["routes"] for match in route.get("match", [])]


def test_in_production_plain_http_only_redirects_to_https(tmp_path: Path) -> None:
    servers = config(tmp_path, tls="acme", edge_https_port=443)["apps"]["http"]["servers"]
    [redirect] = servers["http"]["routes"]
    location = redirect["handle"][0]["headers"]["Location"]
    assert location == ["https://{http.request.host}{http.request.uri}"]
    assert ["shop-acme.localhost"] in hosts(servers["https"])
    assert servers["https"]["listen"] == ["fd/4", "fdgram/5"]


def test_a_redirect_to_a_non_default_https_port_keeps_the_port(tmp_path: Path) -> None:
    servers = config(tmp_path, tls="acme", edge_https_port=8443)["apps"]["http"]["servers"]
    location = servers["http"]["routes"][0]["handle"][0]["headers"]["Location"]
    assert location == ["https://{http.request.host}:8443{http.request.uri}"]


def test_locally_both_ports_serve_the_apps_with_the_internal_ca(tmp_path: Path) -> None:
    built = config(tmp_path)  # tls "internal" is the default
    servers = built["apps"]["http"]["servers"]
    assert ["shop-acme.localhost"] in hosts(servers["http"])
    assert ["shop-acme.localhost"] in hosts(servers["https"])
    [policy] = built["apps"]["tls"]["automation"]["policies"]
    assert policy["issuers"] == [{"module": "internal", "ca": "local"}]
    assert policy["on_demand"] is True


def test_certificates_are_issued_only_for_names_the_api_admits(tmp_path: Path) -> None:
    built = config(tmp_path, tls="acme", api_port=8000)
    permission = built["apps"]["tls"]["automation"]["on_demand"]["permission"]
    assert permission == {"module": "http", "endpoint": "http://127.0.0.1:8000/tls/ask"}


def test_tls_off_leaves_plain_http_alone(tmp_path: Path) -> None:
    built = config(tmp_path, tls="off")
    assert set(built["apps"]["http"]["servers"]) == {"http"}
    assert "tls" not in built["apps"]
    assert routed_servers(Settings(home=tmp_path, tls="off")) == ("http",)


def test_a_wildcard_certificate_is_loaded_when_given(tmp_path: Path) -> None:
    cert, key = tmp_path / "w.crt", tmp_path / "w.key"
    built = config(tmp_path, wildcard_cert=cert, wildcard_key=key)
    [loaded] = built["apps"]["tls"]["certificates"]["load_files"]
    assert loaded["certificate"] == str(cert) and loaded["key"] == str(key)


def test_the_api_hostname_is_routed_to_the_api(tmp_path: Path) -> None:
    built = config(tmp_path, api_domain="dockyard.example.com", api_port=8000)
    https = built["apps"]["http"]["servers"]["https"]
    [route] = [
        r
        for r in https["routes"]
        if r.get("match", [{}])[0].get("host") == ["dockyard.example.com"]
    ]
    assert route["handle"][0]["upstreams"] == [{"dial": "127.0.0.1:8000"}]


def test_unknown_hosts_get_the_last_word(tmp_path: Path) -> None:
    https = config(tmp_path)["apps"]["http"]["servers"]["https"]
    last = https["routes"][-1]
    assert "match" not in last
    assert last["handle"][0]["status_code"] == 404


def test_only_changed_environments_are_sent_to_caddy() -> None:
    moved = EnvironmentRoute("env_shop", ("shop-acme.localhost", "shop.example"), SHOP.replicas)
    put, gone = changed_routes({"env_shop": SHOP, "env_blog": BLOG}, {"env_shop": moved})
    assert put == [moved]
    assert gone == ["env_blog"]
    assert changed_routes({"env_shop": SHOP}, {"env_shop": SHOP}) == ([], [])
