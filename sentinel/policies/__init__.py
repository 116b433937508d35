"""An environment's gateway policies, as its Sentinel replicas run them before forwarding.

    chain         the seam between the edge and its policies: Policy, PolicyChain, and
                  what a policy leaves the edge (response headers, send filters, a body)
    gateway       a deployment's frozen policies, compiled once and evaluated in order
    matching      `match` expressions (which requests a policy applies to), RequestView
    keyauth       the keyauth rule: a key from the request, verified like keys.verifyKey
    rules         the ratelimit, firewall and IP rules, and the Exchange they all share
    jwt_rule      the jwt rule: a bearer JWT verified with PyJWT
    openapi_rule  the openapi rule: requests validated against the app's OpenAPI document
    request_log   the logging rule: one JSON line per request its policies match

The state these rules lean on is the replica's own, one of each per process: rate-limit
leases in sentinel.limits, verified keys in sentinel.key_cache.
"""
