from __future__ import annotations

import pytest

from sentinel.routing import RouteTable, is_ip_literal, normalize_host


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("Shop-Acme.localhost:8080", "shop-acme.localhost"),
        ("shop-acme.localhost", "shop-acme.localhost"),
        ("shop.example.com.", "shop.example.com"),
        ("[::1]:8080", "[::1]"),
        ("127.0.0.1:8080", "127.0.0.1"),
    ],
)
def test_host_header_names_a_lower_case_host_without_port(header: str, host: str) -> None:
    assert normalize_host(header) == host


def test_ip_literals_are_never_domains() -> None:
    assert is_ip_literal("127.0.0.1")
    assert is_ip_literal("[::1]")
    assert not is_ip_literal("shop-acme.localhost")
    assert not is_ip_literal("1password.com")


def test_table_splits_instances_by_the_edges_region() -> None:
    table = RouteTable.build(
        region="eu",
        domains={"shop.localhost": ("d_1", "env_1"), "idle.localhost": ("d_2", "env_1")},
        instances={"d_1": [("eu", "10.0.0.1:80"), ("us", "10.0.0.2:80"), ("eu", "10.0.0.3:80")]},
    )
    route = table.lookup("shop.localhost")
    assert route is not None
    assert route.local == ("10.0.0.1:80", "10.0.0.3:80")
    assert route.remote == ("10.0.0.2:80",)
    idle = table.lookup("idle.localhost")
    assert idle is not None and not idle.has_instances
    assert table.lookup("other.localhost") is None
    assert len(table) == 2
