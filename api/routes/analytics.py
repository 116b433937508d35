"""analytics.getGatewayRequests, analytics.getVerifications, analytics.getRatelimits and
analytics.getRuntimeLogs: Unkey's SQL over the request log and over what apps print,
answered as rows.

A query reads one public alias (`gateway_requests_v1`, `key_verifications_v1` and its
`_per_minute_` to `_per_month_` rollups, `ratelimits_v1` and its rollups,
`runtime_logs_v1`), limited to the caller's workspace and to the projects, keyspaces
(`api.<id>.read_analytics`) or namespaces its permissions name; dockyard.analytics.query
says which SQL is accepted, and bounds its time window and rows. A rejected query is a
400 that says what to change; one that runs past the store's deadline, or whose window
holds more runtime log lines than one query reads, a 422.

Runtime logs live in the main database, beside the deployments (dockyard.runtime_logs):
a query's window of them, cut to its scope, is copied into a scratch in-memory store and
the checked query runs there, so every alias answers the same SQL the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api.analytics import AnalyticsDep
from api.auth import Caller
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import ApiError, BadRequest, Forbidden, ServiceUnavailable
from api.routes import resource_router
from api.schemas.analytics import AnalyticsQuery, Row
from api.schemas.base import Envelope
from dockyard.analytics import query as analytics_query
from dockyard.analytics.records import (
    GATEWAY_REQUESTS,
    KEY_VERIFICATIONS,
    RATELIMIT_DECISIONS,
    RUNTIME_LOGS,
    Table,
)
from dockyard.analytics.store import (
    QUERY_SECONDS,
    AnalyticsStore,
    QueryFailed,
    QueryTooExpensive,
)
from dockyard.analytics.window import QueryRejected
from dockyard.runtime_logs import TooManyLines, analytics_rows

router = resource_router("analytics")

NOT_COLLECTING = "analytics are not available in this API process: another process holds the store"
TOO_EXPENSIVE = "the query ran longer than {seconds:g} seconds; narrow its time window or filters"
TOO_MANY_LINES = (
    "the query's time window holds more than {most:,} runtime log lines; narrow it "
    "(for example `time >= now() - INTERVAL 10 MINUTE`)"
)
MAX_RUNTIME_LINES = 200_000
REQUIRES = "Your root key requires the '{resource}.*.{action}' permission, or one per {what}."


class QueryTooLarge(ApiError):
    status = 422
    type = "unprocessable-entity"


@dataclass(frozen=True)
class Operation:
    """One analytics operation: the table its alias reads, and the permission it takes
    (`<resource>.*.<action>`, or one per id of `column`)."""

    name: str
    table: Table
    resource: str
    action: str
    column: str
    what: str
    summary: str


OPERATIONS = (
    Operation(
        "getGatewayRequests", GATEWAY_REQUESTS, "project", "read_gateway_requests",
        "project_id", "project",
        "Requests the gateway answered: time, environment, deployment, region, method, "
        "path, path_template, response_status, latency (ms), outcome (`allowed`, or the "
        "edge's error code such as `key_missing` or `rate_limited`), and the key and "
        "identity it verified.",
    ),
    Operation(
        "getVerifications", KEY_VERIFICATIONS, "api", "read_analytics", "key_space_id", "API",
        "Key verifications, from keys.verifyKey and from the gateway's keyauth policies.",
    ),
    Operation(
        "getRatelimits", RATELIMIT_DECISIONS, "ratelimit", "read_analytics", "namespace_id",
        "namespace",
        "ratelimit.limit decisions: namespace, identifier, passed, limit, remaining.",
    ),
)  # fmt: skip


def _register(operation: Operation) -> None:
    def run(
        body: AnalyticsQuery, caller: RootKeyDep, analytics: AnalyticsDep, meta: MetaDep
    ) -> Envelope[list[Row]]:
        scope = _scope(caller, operation)
        return Envelope(meta=meta, data=_run(body.query, operation.table, scope, analytics))

    router.post(
        f"/v2/analytics.{operation.name}",
        name=operation.name,
        description=operation.summary,
    )(run)


for _operation in OPERATIONS:
    _register(_operation)

RUNTIME_LOGS_OPERATION = Operation(
    "getRuntimeLogs", RUNTIME_LOGS, "project", "read_runtime_logs", "project_id", "project",
    "What app instances printed: time, project_id, app_id, environment_id, deployment_id, "
    "region, instance_id, stream (`stdout`, `stderr`, or `event` for an exit), severity "
    "(`info`, or `error` for stderr and a failed exit), message, and exit_code.",
)  # fmt: skip


@router.post(
    "/v2/analytics.getRuntimeLogs",
    name=RUNTIME_LOGS_OPERATION.name,
    description=RUNTIME_LOGS_OPERATION.summary,
)
def get_runtime_logs(
    body: AnalyticsQuery, caller: RootKeyDep, session: SessionDep, meta: MetaDep
) -> Envelope[list[Row]]:
    scope = _scope(caller, RUNTIME_LOGS_OPERATION)
    checked = _check(body.query, RUNTIME_LOGS, scope)
    try:
        rows = analytics_rows(
            session,
            workspace_id=scope.workspace_id,
            project_ids=scope.ids,
            start_ms=checked.start_ms,
            end_ms=checked.end_ms,
            most=MAX_RUNTIME_LINES,
        )
    except TooManyLines as error:
        raise QueryTooLarge(TOO_MANY_LINES.format(most=MAX_RUNTIME_LINES)) from error
    scratch = AnalyticsStore(None, tables=(RUNTIME_LOGS,))
    try:
        scratch.append(RUNTIME_LOGS, rows)
        return Envelope(meta=meta, data=_read(scratch, checked.sql))
    finally:
        scratch.close()


def _scope(caller: Caller, operation: Operation) -> analytics_query.Scope:
    """The caller's workspace, narrowed to the ids its permissions name when it lacks the
    wildcard permission."""
    resource, action, column = operation.resource, operation.action, operation.column
    if caller.allows(f"{resource}.*.{action}"):
        return analytics_query.Scope(caller.workspace_id, column)
    pattern = re.compile(rf"^{re.escape(resource)}\.([A-Za-z0-9_-]+)\.{re.escape(action)}$")
    ids = frozenset(m.group(1) for p in caller.permissions if (m := pattern.match(p)))
    if not ids:
        raise Forbidden(REQUIRES.format(resource=resource, action=action, what=operation.what))
    return analytics_query.Scope(caller.workspace_id, column, ids)


def _run(
    text: str, table: Table, scope: analytics_query.Scope, analytics: AnalyticsDep
) -> list[Row]:
    checked = _check(text, table, scope)
    if analytics is None or analytics.store is None:
        raise ServiceUnavailable(NOT_COLLECTING)
    return _read(analytics.store, checked.sql)


def _check(text: str, table: Table, scope: analytics_query.Scope) -> analytics_query.Checked:
    try:
        return analytics_query.check(text, table, scope)
    except QueryRejected as error:
        raise BadRequest.at("body.query", str(error)) from error


def _read(store: AnalyticsStore, sql: str) -> list[Row]:
    try:
        names, rows = store.read(sql)
    except QueryFailed as error:
        raise BadRequest.at("body.query", str(error)) from error
    except QueryTooExpensive as error:
        raise QueryTooLarge(TOO_EXPENSIVE.format(seconds=QUERY_SECONDS)) from error
    return [{name: _json(value) for name, value in zip(names, row, strict=True)} for row in rows]


def _json(value: Any) -> Any:
    """A row's value as JSON: timestamps as ms since the epoch, like `time`; a value JSON
    has no type for (a date, an interval, bytes) as its text."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
