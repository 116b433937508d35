"""analytics.getGatewayRequests, getVerifications, getRatelimits and getRuntimeLogs: a query
in, rows out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from api.schemas.base import Input
from dockyard.analytics.query import MAX_QUERY_CHARS

Row = dict[str, Any]


class AnalyticsQuery(Input):
    # Unkey's SQL over one public alias; the subset dockyard runs is dockyard.analytics.query.
    query: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS)]
