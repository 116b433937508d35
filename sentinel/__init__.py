"""Sentinel, dockyard's data plane. This package is its edge.

The edge listens on one port (Settings.edge_port on Settings.bind_host), routes each
request by its Host header to the deployment that domain points at, and forwards it to a
random healthy instance, preferring the edge's own region (Settings.region).

    routing       Route and RouteTable: hostname -> healthy instance addresses
    route_loader  reads the table from the `domains` and `instances` tables
    route_keeper  keeps the table fresh: Redis notices plus a one-second DB poll
    route_events  the Redis subscription on dockyard.events.ROUTES_CHANNEL
    balancer      attempt order (region first, random) and passive ejection
    policies      the policy chain seam (empty until gateway policies arrive)
    headers       hop-by-hop removal and X-Forwarded-* (For is replaced, not appended)
    upstream      one keep-alive HTTP/1.1 connection to an instance (httptools)
    upstream_pool idle connections per instance, connect, stale-connection retry
    proxy         one request: attempts, failover, streaming both ways, 502/504
    websocket     WebSocket pass-through (handshake, messages, close codes)
    problems      RFC 7807 problem+json answers of the edge itself
    app           the ASGI application: lifespan, GET /healthz on IP hosts, dispatch
    options       timeouts and intervals that are not deployment settings
    server        building the edge from Settings and serving it (granian):
                  `python -m sentinel`

The edge's own endpoint: `GET /healthz` on a request whose Host is an IP literal (or
absent), e.g. `curl http://127.0.0.1:8080/healthz`. No domain can be an IP address, so
it never shadows an app's own /healthz. 200 with {"status", "region", "hosts",
"routesAgeSeconds"} once routes were loaded from the database, 503 before.

What makes a host routable: a `domains` row with that hostname (lower-case) and a
non-NULL deployment_id, plus `instances` rows of that deployment with status "healthy"
and an address "host:port" the edge can dial. After changing either, publish anything on
ROUTES_CHANNEL (dockyard.events.Events.routes_changed) for an immediate reload; without
it the change is picked up by the next poll, within a second.
"""
