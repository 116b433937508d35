"""The route table: which healthy instances serve the deployment a hostname points at.

A table is immutable. The edge builds a new one on every reload and swaps a single
reference, so a request always sees one consistent table, never a half-applied change.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Route:
    """Where one hostname's traffic goes right now."""

    hostname: str
    deployment_id: str
    environment_id: str
    # Addresses ("host:port") of healthy instances in the edge's own region ...
    local: tuple[str, ...] = ()
    # ... and in every other region, used only when none of the local ones can answer.
    remote: tuple[str, ...] = ()

    @property
    def has_instances(self) -> bool:
        return bool(self.local or self.remote)


@dataclass(frozen=True, slots=True)
class RouteTable:
    routes: Mapping[str, Route] = field(default_factory=dict)
    # time.time() when the database read this table came from began: it holds every change
    # committed before then. 0 for the empty start table.
    loaded_at: float = 0.0

    def lookup(self, host: str) -> Route | None:
        return self.routes.get(host)

    def __len__(self) -> int:
        return len(self.routes)

    @classmethod
    def build(
        cls,
        *,
        region: str,
        domains: Mapping[str, tuple[str, str]],
        instances: Mapping[str, list[tuple[str, str]]],
        loaded_at: float | None = None,
    ) -> RouteTable:
        """Join domains (hostname -> (deployment, environment)) with healthy instances
        (deployment -> [(region, address)]), splitting them by the edge's region."""
        routes: dict[str, Route] = {}
        for hostname, (deployment_id, environment_id) in domains.items():
            placed = instances.get(deployment_id, [])
            routes[hostname] = Route(
                hostname=hostname,
                deployment_id=deployment_id,
                environment_id=environment_id,
                local=tuple(sorted(a for r, a in placed if r == region)),
                remote=tuple(sorted(a for r, a in placed if r != region)),
            )
        return cls(routes=routes, loaded_at=time.time() if loaded_at is None else loaded_at)


def normalize_host(header: str) -> str:
    """The hostname a Host header names: port stripped, lower-cased, no trailing dot."""
    host = header.strip().lower()
    if host.startswith("["):
        # IPv6 literal: "[::1]:8080"; the colons inside the brackets are not a port.
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    host = host.rpartition(":")[0] if ":" in host else host
    return host.rstrip(".")


def is_ip_literal(host: str) -> bool:
    """True for "127.0.0.1" and "[::1]": names no domain can ever have."""
    # A DNS name's last label is never all digits: most hosts need no parsing at all.
    if not host or not (host[-1].isdigit() or host[0] == "["):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
