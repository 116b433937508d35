from __future__ import annotations

from sentinel.headers import downstream_response_headers, upstream_request_headers


def names(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [name for name, _ in headers]


def test_request_loses_hop_by_hop_and_connection_listed_headers() -> None:
    headers = upstream_request_headers(
        [
            (b"host", b"shop.localhost"),
            (b"connection", b"keep-alive, X-Hop"),
            (b"x-hop", b"1"),
            (b"keep-alive", b"timeout=5"),
            (b"te", b"trailers"),
            (b"proxy-authorization", b"Basic eA=="),
            (b"upgrade", b"h2c"),
            (b"expect", b"100-continue"),
            (b"x-kept", b"yes"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
        host=b"shop.localhost",
    )
    assert names(headers) == [
        b"host",
        b"x-kept",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    ]


def test_client_supplied_forwarding_headers_are_replaced_not_trusted() -> None:
    headers = dict(
        upstream_request_headers(
            [
                (b"x-forwarded-for", b"6.6.6.6"),
                (b"forwarded", b"for=6.6.6.6"),
                (b"x-real-ip", b"6.6.6.6"),
                (b"x-forwarded-host", b"evil.example"),
            ],
            client_ip="10.1.2.3",
            scheme="http",
            host=b"shop.localhost:8080",
        )
    )
    assert headers == {
        b"x-forwarded-for": b"10.1.2.3",
        b"x-forwarded-proto": b"http",
        b"x-forwarded-host": b"shop.localhost:8080",
    }


def test_underscore_spellings_of_edge_set_headers_never_reach_the_app() -> None:
    # CGI/WSGI apps read both `X-Forwarded-For` and `X_Forwarded_For` as HTTP_X_FORWARDED_FOR.
    headers = upstream_request_headers(
        [
            (b"x_forwarded_for", b"6.6.6.6"),
            (b"x_real_ip", b"6.6.6.6"),
            (b"x_dockyard_principal", b'{"subject":"admin"}'),
            (b"x_request_id", b"kept"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
        host=None,
    )
    assert headers == [
        (b"x_request_id", b"kept"),
        (b"x-forwarded-for", b"10.1.2.3"),
        (b"x-forwarded-proto", b"http"),
    ]


def test_rechunked_body_drops_the_clients_content_length() -> None:
    headers = upstream_request_headers(
        [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],
        client_ip=None,
        scheme="http",
        host=None,
        chunked=True,
    )
    assert headers == [(b"transfer-encoding", b"chunked"), (b"x-forwarded-proto", b"http")]


def test_response_keeps_framing_length_and_loses_hop_by_hop() -> None:
    headers = downstream_response_headers(
        [
            (b"Content-Length", b"2"),
            (b"Connection", b"close, X-Internal"),
            (b"X-Internal", b"secret"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Keep-Alive", b"timeout=5"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
        ]
    )
    assert headers == [
        (b"content-length", b"2"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
