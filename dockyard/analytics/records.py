"""The three datasets of the request log: the stream each travels on, the tuple a
producer ships, and the columns of its table (Unkey's public aliases name the tables).

gateway: what a Sentinel replica answered, one tuple per request:
    (time ns, environment id, deployment id, region, method, host, path, status,
     latency ns, outcome, key id, keyspace id, identity id, external id)
  Times are integer nanoseconds as the replica read its clocks (the cheapest to read and
  to ship); the collector stores milliseconds.
  `outcome` is "allowed" when the app answered, else the edge's error code (key_missing,
  rate_limited, ...). The ids are those of the principal a policy verified, or None.
verifications: one keys.verifyKey answer (and one per gateway request a key was verified
  for, derived by the collector):
    (time ms, workspace id, keyspace id, key id, identity id, external id, region,
     outcome, spent credits)
ratelimits: one ratelimit.limit decision:
    (time ms, workspace id, namespace id, identifier, passed, limit, remaining, reset ms,
     override id)
"""

from __future__ import annotations

from dataclasses import dataclass

GATEWAY = "gateway"
VERIFICATIONS = "verifications"
RATELIMITS = "ratelimits"
KINDS = (GATEWAY, VERIFICATIONS, RATELIMITS)

GatewayRecord = tuple[str | int | float | None, ...]


ROLLUP_UNITS = ("minute", "hour", "day", "month")


@dataclass(frozen=True)
class Rollup:
    """The table's rows counted per time bucket (Unkey's `<table>_per_<unit>_v1` aliases):
    `time` is the bucket's start, a timestamp; one row per bucket and `dimensions`."""

    dimensions: tuple[str, ...]
    measures: tuple[str, ...]  # aggregate SQL with its column name, e.g. "count(*) AS count"


@dataclass(frozen=True)
class Table:
    name: str  # the store's table
    alias: str  # the name queries use, as in Unkey's API
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), `time` (ms) first
    rollup: Rollup | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def aliases(self) -> dict[str, str | None]:
        """Every alias a query may read, with its rollup's unit (None: the rows)."""
        found: dict[str, str | None] = {self.alias: None}
        if self.rollup is not None:
            base = self.alias.removesuffix("_v1")
            found.update({f"{base}_per_{unit}_v1": unit for unit in ROLLUP_UNITS})
        return found


GATEWAY_REQUESTS = Table(
    "gateway_requests",
    "gateway_requests_v1",
    (
        ("time", "BIGINT"),
        ("workspace_id", "VARCHAR"),
        ("project_id", "VARCHAR"),
        ("app_id", "VARCHAR"),
        ("environment_id", "VARCHAR"),
        ("deployment_id", "VARCHAR"),
        ("region", "VARCHAR"),
        ("method", "VARCHAR"),
        ("host", "VARCHAR"),
        ("path", "VARCHAR"),
        ("path_template", "VARCHAR"),  # the path with its ids as {id}: group by this
        ("response_status", "INTEGER"),
        ("latency", "DOUBLE"),
        ("outcome", "VARCHAR"),
        ("key_id", "VARCHAR"),
        ("identity_id", "VARCHAR"),
        ("external_id", "VARCHAR"),
    ),
)
KEY_VERIFICATIONS = Table(
    "key_verifications",
    "key_verifications_v1",
    (
        ("time", "BIGINT"),
        ("workspace_id", "VARCHAR"),
        ("key_space_id", "VARCHAR"),
        ("key_id", "VARCHAR"),
        ("identity_id", "VARCHAR"),
        ("external_id", "VARCHAR"),
        ("region", "VARCHAR"),
        ("outcome", "VARCHAR"),
        ("spent_credits", "BIGINT"),
    ),
    Rollup(
        ("workspace_id", "key_space_id", "identity_id", "external_id", "key_id", "outcome"),
        ("count(*) AS count", "sum(spent_credits) AS spent_credits"),
    ),
)
RATELIMIT_DECISIONS = Table(
    "ratelimits",
    "ratelimits_v1",
    (
        ("time", "BIGINT"),
        ("workspace_id", "VARCHAR"),
        ("namespace_id", "VARCHAR"),
        ("identifier", "VARCHAR"),
        ("passed", "BOOLEAN"),
        ("limit", "BIGINT"),
        ("remaining", "BIGINT"),
        ("reset_at", "BIGINT"),
        ("override_id", "VARCHAR"),
    ),
    Rollup(
        ("workspace_id", "namespace_id", "identifier"),
        ("count_if(passed) AS passed", "count(*) AS total"),
    ),
)
TABLES = (GATEWAY_REQUESTS, KEY_VERIFICATIONS, RATELIMIT_DECISIONS)
# What app instances print: kept in the main database (dockyard.runtime_logs), and put in
# a scratch store for the span of one analytics.getRuntimeLogs query.
RUNTIME_LOGS = Table(
    "runtime_logs",
    "runtime_logs_v1",
    (
        ("time", "BIGINT"),
        ("workspace_id", "VARCHAR"),
        ("project_id", "VARCHAR"),
        ("app_id", "VARCHAR"),
        ("environment_id", "VARCHAR"),
        ("deployment_id", "VARCHAR"),
        ("region", "VARCHAR"),
        ("instance_id", "VARCHAR"),  # the container's id
        ("stream", "VARCHAR"),  # stdout | stderr | event (an exit)
        ("severity", "VARCHAR"),  # info (stdout, a clean exit) | error (stderr, a failed exit)
        ("message", "VARCHAR"),
        ("exit_code", "INTEGER"),  # on an exit's event line
    ),
)


def stream_name(prefix: str, kind: str) -> str:
    return f"{prefix}:{kind}"
