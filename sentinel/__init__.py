"""Sentinel, dockyard's data plane: the region edge and the Sentinel replicas behind it.

`python -m sentinel` (sentinel.edge) runs a region's edge: Caddy terminates TLS and routes
each Host to the replicas of the domain's environment; each replica runs that
environment's policies and forwards to a random healthy instance of the deployment,
preferring the replica's own region (Settings.region).

    __main__      `python -m sentinel`: the region edge of this process's settings
    edge          the region edge: Caddy, the replicas, the sync between them and the DB
    caddy         Caddy as a child process, driven over its admin API
    caddy_config  Caddy's JSON configuration: one route per environment (pure)
    supervisor    the replicas per environment: started, health-checked, restarted
    forks         the warm fork server replicas are forked from
    replica       one environment's gateway (an Edge with its policies), in a process
    policies/     the environment's policies and the chain they run in (see its map)
    key_cache     verified keys, dropped the moment the API announces a change
    limits        rate limits: units leased from Redis in batches and spent locally
    redis_pipe    one pipelined Redis connection for the hot path (rate limits)
    traffic       the newest request time per deployment, for preview archival
    routing       Route and RouteTable: hostname -> healthy instance addresses
    route_loader  reads the table from the `domains` and `instances` tables
    route_keeper  keeps the table fresh: Redis notices plus a one-second DB poll
    route_events  the Redis subscriptions: route changes and key changes
    balancer      attempt order (region first, random) and passive ejection
    paths         dot segments resolved before a path reaches a policy or an app
    headers       hop-by-hop removal and X-Forwarded-* (For is replaced, not appended)
    upstream      one keep-alive HTTP/1.1 connection to an instance (httptools)
    upstream_pool idle connections per instance, connect, stale-connection retry
    proxy         one request: attempts, failover, streaming both ways, 502/504
    websocket     WebSocket pass-through (handshake, messages, close codes)
    problems      RFC 7807 problem+json answers of the edge itself
    app           the ASGI application: lifespan, GET /healthz on IP hosts, dispatch
    options       timeouts and intervals that are not deployment settings
    server        building a replica's Edge from Settings and serving it (granian)
    metered       a replica's request counts and latencies, for Prometheus (multiprocess)
    metrics       the edge's GET /metrics: every replica's series, merged
    outcomes      what answered a request (status, allowed or the edge's error code)
    logged        a replica's request log: a tuple per request, shipped off the hot path

The edge's own endpoint: `GET /healthz` on a request whose Host is an IP literal, e.g.
`curl http://127.0.0.1:8080/healthz` (the region edge's state, see sentinel.edge); on a
replica's own port, the replica's. No domain can be an IP address, so it never shadows
an app's own /healthz.

What makes a host routable: a `domains` row with that hostname (lower-case) and a
non-NULL deployment_id, plus `instances` rows of that deployment with status "healthy"
and an address "host:port" the edge can dial. After changing either, publish anything on
ROUTES_CHANNEL (dockyard.events.Events.routes_changed) for an immediate reload; without
it the change is picked up by the next poll, within a second.
"""
