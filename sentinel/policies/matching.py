"""Which requests a policy applies to: its `match` expressions, all of which must hold.

Expressions are compiled once, when a deployment's policies are loaded; a request is
looked at through RequestView, which parses headers and the query only if asked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestView:
    """What policies read of one request, straight from the ASGI scope."""

    __slots__ = ("_headers", "_query", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._headers: dict[str, str] | None = None
        self._query: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return str(self.scope.get("method", "GET"))

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def client_ip(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    def header(self, name: str) -> str | None:
        """A header's value (the first, when sent several times); `name` in lower case."""
        if self._headers is None:
            headers: dict[str, str] = {}
            for key, value in self.scope["headers"]:
                headers.setdefault(key.decode("latin-1"), value.decode("latin-1"))
            self._headers = headers
        return self._headers.get(name)

    def query(self, name: str) -> str | None:
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            self._query = {}
            for key, value in parse_qsl(raw, keep_blank_values=True):
                self._query.setdefault(key, value)
        return self._query.get(name)


Predicate = Callable[[RequestView], bool]


def string_matcher(spec: dict[str, Any]) -> Callable[[str], bool]:
    ignore_case = bool(spec.get("ignoreCase"))
    if "regex" in spec:
        pattern = re.compile(spec["regex"], re.IGNORECASE if ignore_case else 0)
        return lambda value: pattern.search(value) is not None
    wanted = str(spec.get("exact", spec.get("prefix", "")))
    if ignore_case:
        wanted = wanted.lower()
    if "exact" in spec:
        if ignore_case:
            return lambda value: value.lower() == wanted
        return lambda value: value == wanted
    if ignore_case:
        return lambda value: value.lower().startswith(wanted)
    return lambda value: value.startswith(wanted)


def networks(cidrs: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def ip_in(ip: str, ranges: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in ranges)


def _field(spec: dict[str, Any], read: Callable[[RequestView, str], str | None]) -> Predicate:
    name = str(spec["name"])
    if spec.get("value") is None:
        return lambda view: read(view, name) is not None
    test = string_matcher(spec["value"])

    def matches(view: RequestView) -> bool:
        value = read(view, name)
        return value is not None and test(value)

    return matches


def expression(spec: dict[str, Any]) -> Predicate:
    if "path" in spec:
        test = string_matcher(spec["path"]["path"])
        return lambda view: test(view.path)
    if "method" in spec:
        methods = frozenset(spec["method"]["methods"])
        return lambda view: view.method in methods
    if "header" in spec:
        header = dict(spec["header"], name=str(spec["header"]["name"]).lower())
        return _field(header, RequestView.header)
    if "queryParam" in spec:
        return _field(spec["queryParam"], RequestView.query)
    if "remoteIp" in spec:
        rule = spec["remoteIp"]
        if "in" in rule:
            inside = networks(rule["in"])
            return lambda view: ip_in(view.client_ip, inside)
        outside = networks(rule["notIn"])
        return lambda view: not ip_in(view.client_ip, outside)
    raise ValueError(f"unknown match expression: {sorted(spec)}")


def compile_match(specs: list[dict[str, Any]] | None) -> Predicate | None:
    """One predicate for all expressions (ANDed); None when the policy matches everything."""
    if not specs:
        return None
    predicates = [expression(spec) for spec in specs]
    if len(predicates) == 1:
        return predicates[0]
    return lambda view: all(predicate(view) for predicate in predicates)
