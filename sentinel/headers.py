"""Which headers cross the edge, in each direction, and the X-Forwarded-* it adds.

Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, not the message:
they are dropped both ways, together with every header the Connection header names.

X-Forwarded-For is *replaced* by the address of the peer that connected to the edge,
never appended to. The edge is the first hop dockyard controls, facing the internet:
whatever X-Forwarded-For (or Forwarded, X-Real-IP) a client sends is its own claim, and
passing it on would let any client pick the address that IP rules, rate limits and app
logs see. When a trusted load balancer is ever put in front of the edge, appending
becomes safe for that hop only, and belongs behind an explicit list of trusted peers.

A header whose name differs from one of these only by `_` for `-` (`X_Forwarded_For`,
`X_Dockyard_Principal`) is dropped too: CGI, WSGI and Rack hand headers to apps as
`HTTP_X_FORWARDED_FOR`, where both spellings become the same variable, so the client's
copy could stand in for the one the edge set (nginx and gunicorn refuse them likewise).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",  # not standard, but still sent by old clients
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Set by the edge alone (see the module docstring); a client's own values are dropped.
FORWARDING = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-proto",
        b"x-real-ip",
    }
)

# Who a Sentinel replica's policies verified (sentinel.policies.gateway), set by the replica alone.
PRINCIPAL = b"x-dockyard-principal"
# Names only the edge sets, which a client must not reach an app under an `_` spelling.
_PROTECTED = FORWARDING | {PRINCIPAL}

# The edge's HTTP server already answered "Expect: 100-continue" for this hop.
REQUEST_ONLY_DROPPED = frozenset({b"expect"})

_REQUEST_DROPPED = HOP_BY_HOP | FORWARDING | REQUEST_ONLY_DROPPED
# Connection values that name no other header: the common case, checked without parsing.
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close"})


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names listed in Connection: hop-by-hop for this message only."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def _dropped(base: frozenset[bytes], headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """`base` plus what a Connection header lists beyond the usual keep-alive or close."""
    for name, value in headers:
        if name == b"connection" and value.lower() not in _PLAIN_CONNECTION:
            return base | _connection_tokens(headers)
    return base


def upstream_request_headers(
    headers: list[tuple[bytes, bytes]],
    *,
    client_ip: str | None,
    scheme: str,
    host: bytes | None,
    chunked: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The request headers an instance receives, Host kept as the client sent it.

    `headers` come from the ASGI scope (names already lower-case). `chunked` says the
    edge re-frames the body with chunked encoding: a client that sent Transfer-Encoding
    must not also get its Content-Length through (the classic request smuggling pair).
    """
    dropped = _REQUEST_DROPPED
    if chunked:
        dropped = dropped | {b"content-length"}
    dropped = _dropped(dropped, headers)
    forwarded = [
        (name, value)
        for name, value in headers
        if name not in dropped and not (b"_" in name and _alias_of_protected(name))
    ]
    if chunked:
        forwarded.append((b"transfer-encoding", b"chunked"))
    if client_ip:
        forwarded.append((b"x-forwarded-for", client_ip.encode("latin-1")))
    forwarded.append((b"x-forwarded-proto", scheme.encode("latin-1")))
    if host is not None:
        forwarded.append((b"x-forwarded-host", host))
    return forwarded


def _alias_of_protected(name: bytes) -> bool:
    return name.replace(b"_", b"-") in _PROTECTED


def downstream_response_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> list[tuple[bytes, bytes]]:
    """The response headers the client receives: the instance's, less hop-by-hop ones.

    `headers` are raw (any case) as the instance sent them. Content-Length is kept, so the
    edge's server frames the body the same way; Transfer-Encoding is its own business.
    """
    kept: list[tuple[bytes, bytes]] = []
    connection = b""
    for name, value in headers:
        name = name.lower()
        if name not in HOP_BY_HOP:
            kept.append((name, value))
        elif name == b"connection":
            connection = connection + b"," + value if connection else value
    if connection and connection.lower() not in _PLAIN_CONNECTION:
        named = _connection_tokens([(b"connection", connection)])
        kept = [(name, value) for name, value in kept if name not in named]
    return kept


def adopt_forwarded(scope: Scope) -> None:
    """Take the client address and scheme from the edge's X-Forwarded-For/-Proto.

    Only for a Sentinel replica, whose one peer is dockyard's edge: the edge replaced any
    client-sent copies (see the module docstring), so these name the real client.
    """
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            client = scope.get("client")
            port = client[1] if isinstance(client, tuple | list) else 0
            scope["client"] = (value.decode("latin-1").split(",")[-1].strip(), port)
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1")
            if scope.get("type") == "websocket":
                proto = "wss" if proto in ("https", "wss") else "ws"
            scope["scheme"] = proto
