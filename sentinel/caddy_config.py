"""The edge's Caddy configuration, as JSON for Caddy's admin API. Pure: no I/O.

Caddy is the region's edge: it terminates TLS, routes each hostname to the Sentinel
replicas of the environment the domain belongs to, and holds a request while those
replicas start. One route per environment and server, found by its `@id`
(route_id), so a change to one environment replaces one route through the admin API and
touches nothing else:

    match host [every domain of the environment]
    reverse_proxy to every replica of the environment (least connections; active
        health checks on /healthz every 500 ms; a request waits up to HOLD_SECONDS for
        a healthy replica instead of failing while replicas start or restart)

The routes of environments are disjoint (a hostname belongs to one environment), so their
order does not matter; the catch-all answer for unknown hosts stays last.

Servers, by Settings.tls:
- "acme" (production): HTTPS on edge_https_port; plain HTTP on edge_port only redirects
  to HTTPS (Caddy answers ACME HTTP challenges before any route runs).
- "internal" (local development): HTTPS with Caddy's own CA, and plain HTTP serving the
  same routes, since nothing trusts that CA until the user says so.
- "off": plain HTTP only.
Certificates are issued on demand, at the first TLS handshake for a name, and only for
names the API's `GET /tls/ask?domain=` admits (verified custom domains, generated
domains, the API's own hostname): a stranger pointing a name at the edge gets a refused
handshake, and no order is placed. A wildcard certificate the user provides is loaded
as is; Caddy prefers a loaded certificate that covers the name to issuing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.settings import Settings
from sentinel.problems import EDGE_ERROR_HEADER

HOLD_SECONDS = 20
# A client gets this long to send a request's head; a slowloris client holds a socket no
# longer than that.
HEADER_READ_TIMEOUT = "30s"
HEALTH_INTERVAL = "500ms"
HEALTH_TIMEOUT = "1s"
# Caddy keeps 32 idle connections per upstream by default and closes the rest after each
# burst; under load that turned every other request into a new connection to a replica.
IDLE_CONNECTIONS_PER_REPLICA = 512
HTTPS_SERVER = "https"
HTTP_SERVER = "http"
UNKNOWN_HOST_BODY = (
    '{"type":"about:blank","title":"Not Found","status":404,'
    '"detail":"no deployment is served at {http.request.host}",'
    '"code":"unknown_host","host":"{http.request.host}"}'
)


@dataclass(frozen=True)
class Listeners:
    """File descriptors of the edge's sockets, which Caddy inherits (fd/N addresses).

    The region edge opens them and keeps them open, so while Caddy restarts, new
    connections wait in the kernel's backlog for the next Caddy instead of being refused.
    """

    http: int  # TCP, plain HTTP
    https: int | None = None  # TCP, TLS (HTTP/1.1 and HTTP/2)
    quic: int | None = None  # UDP on the HTTPS port (HTTP/3)


@dataclass(frozen=True)
class EnvironmentRoute:
    """What the edge routes for one environment: its hostnames and its replicas."""

    environment_id: str
    hosts: tuple[str, ...]
    replicas: tuple[str, ...]  # "host:port" of every replica, healthy or not


def route_id(server: str, environment_id: str) -> str:
    return f"dockyard-{server}-{environment_id}"


def routed_servers(settings: Settings) -> tuple[str, ...]:
    """The servers whose routes carry the environments (the others only redirect)."""
    if settings.tls == "off":
        return (HTTP_SERVER,)
    if settings.tls == "internal":
        return (HTTPS_SERVER, HTTP_SERVER)
    return (HTTPS_SERVER,)


def environment_route(server: str, route: EnvironmentRoute) -> dict[str, Any]:
    return {
        "@id": route_id(server, route.environment_id),
        "match": [{"host": list(route.hosts)}],
        "handle": [
            {
                "handler": "reverse_proxy",
                "upstreams": [{"dial": address} for address in route.replicas],
                "load_balancing": {
                    "selection_policy": {"policy": "least_conn"},
                    "try_duration": f"{HOLD_SECONDS}s",
                    "try_interval": "50ms",
                },
                "health_checks": {
                    "active": {
                        "uri": "/healthz",
                        "interval": HEALTH_INTERVAL,
                        "timeout": HEALTH_TIMEOUT,
                        # The replica answers its own /healthz on an IP host only.
                        "headers": {"Host": ["127.0.0.1"]},
                    },
                    "passive": {"fail_duration": "2s", "max_fails": 1},
                },
                "transport": {
                    "protocol": "http",
                    "keep_alive": {"max_idle_conns_per_host": IDLE_CONNECTIONS_PER_REPLICA},
                },
            }
        ],
        "terminal": True,
    }


def _unknown_host() -> dict[str, Any]:
    return {
        "handle": [
            {
                "handler": "static_response",
                "status_code": 404,
                "headers": {
                    "Content-Type": ["application/problem+json"],
                    "Cache-Control": ["no-store"],
                    EDGE_ERROR_HEADER: ["unknown_host"],
                },
                "body": UNKNOWN_HOST_BODY,
            }
        ]
    }


def _fixed_routes(settings: Settings, control_url: str) -> list[dict[str, Any]]:
    """After the environments: the API's hostname, the edge's health, unknown hosts."""
    routes: list[dict[str, Any]] = []
    if settings.api_domain:
        routes.append(
            {
                "match": [{"host": [settings.api_domain]}],
                "handle": [
                    {
                        "handler": "reverse_proxy",
                        "upstreams": [{"dial": _dial_address(settings.api_url)}],
                    }
                ],
                "terminal": True,
            }
        )
    routes.append(
        {
            # GET /healthz on an IP host is the edge's own, as no domain is an IP.
            "match": [{"host": ["127.0.0.1", "[::1]", "::1"], "path": ["/healthz"]}],
            "handle": [
                {
                    "handler": "reverse_proxy",
                    "upstreams": [{"dial": _dial_address(control_url)}],
                }
            ],
            "terminal": True,
        }
    )
    routes.append(_unknown_host())
    return routes


def _redirect_to_https(https_port: int) -> dict[str, Any]:
    port = "" if https_port == 443 else f":{https_port}"
    return {
        "handle": [
            {
                "handler": "static_response",
                "status_code": 308,
                "headers": {
                    "Location": [f"https://{{http.request.host}}{port}{{http.request.uri}}"]
                },
            }
        ]
    }


def _dial_address(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _issuer(settings: Settings) -> dict[str, Any]:
    if settings.tls == "internal":
        return {"module": "internal", "ca": "local"}
    issuer: dict[str, Any] = {"module": "acme", "ca": settings.acme_ca}
    if settings.acme_email:
        issuer["email"] = settings.acme_email
    if settings.acme_ca_roots is not None:
        issuer["trusted_roots_pem_files"] = [str(settings.acme_ca_roots.resolve())]
    return issuer


def full_config(
    settings: Settings,
    routes: Iterable[EnvironmentRoute],
    *,
    storage: Path,
    control_url: str,
    listeners: Listeners,
) -> dict[str, Any]:
    """Caddy's whole configuration: what it starts with, and loads again after a crash."""
    routes = sorted(routes, key=lambda route: route.environment_id)
    fixed = _fixed_routes(settings, control_url)
    servers: dict[str, Any] = {}
    if settings.tls != "off":
        if listeners.https is None:
            raise ValueError("an HTTPS edge needs its HTTPS socket")
        listen, protocols = [f"fd/{listeners.https}"], [["h1", "h2"]]
        if listeners.quic is not None:
            listen.append(f"fdgram/{listeners.quic}")
            protocols.append(["h3"])
        servers[HTTPS_SERVER] = {
            "listen": listen,
            "listen_protocols": protocols,
            "protocols": ["h1", "h2", "h3"],
            "automatic_https": {"disable": True},
            "read_header_timeout": HEADER_READ_TIMEOUT,
            "tls_connection_policies": [{}],
            "routes": [environment_route(HTTPS_SERVER, route) for route in routes] + fixed,
        }
    http_routes: list[dict[str, Any]]
    if HTTP_SERVER in routed_servers(settings):
        http_routes = [environment_route(HTTP_SERVER, route) for route in routes] + fixed
    else:
        http_routes = [_redirect_to_https(settings.edge_https_port)]
    servers[HTTP_SERVER] = {
        "listen": [f"fd/{listeners.http}"],
        "automatic_https": {"disable": True},
        "read_header_timeout": HEADER_READ_TIMEOUT,
        # Plain HTTP is HTTP/1.1 only (h2 and h3 need TLS); saying so keeps Caddy from
        # warning that it skipped them at every configuration change.
        "protocols": ["h1"],
        "routes": http_routes,
    }
    config: dict[str, Any] = {
        "admin": {
            "listen": f"127.0.0.1:{settings.edge_admin_port}",
            "config": {"persist": False},
        },
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "storage": {"module": "file_system", "root": str(storage.resolve())},
        "apps": {
            "http": {
                "http_port": settings.edge_port,
                "https_port": settings.edge_https_port,
                "grace_period": "10s",
                "servers": servers,
            },
        },
    }
    if settings.tls != "off":
        config["apps"]["tls"] = _tls_app(settings)
        if settings.tls == "internal":
            config["apps"]["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    return config


def _tls_app(settings: Settings) -> dict[str, Any]:
    tls: dict[str, Any] = {
        "automation": {
            "policies": [{"issuers": [_issuer(settings)], "on_demand": True}],
            "on_demand": {
                "permission": {
                    "module": "http",
                    "endpoint": f"{settings.api_url.rstrip('/')}/tls/ask",
                }
            },
        }
    }
    if settings.wildcard_cert is not None and settings.wildcard_key is not None:
        tls["certificates"] = {
            "load_files": [
                {
                    "certificate": str(settings.wildcard_cert.resolve()),
                    "key": str(settings.wildcard_key.resolve()),
                    "tags": ["wildcard"],
                }
            ]
        }
    return tls


def changed_routes(
    applied: Mapping[str, EnvironmentRoute], wanted: Mapping[str, EnvironmentRoute]
) -> tuple[Sequence[EnvironmentRoute], Sequence[str]]:
    """(routes to add or replace, environment ids whose route goes away)."""
    put = [route for env, route in sorted(wanted.items()) if applied.get(env) != route]
    gone = sorted(set(applied) - set(wanted))
    return put, gone
