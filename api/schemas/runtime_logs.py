"""deployments.getRuntimeLogs: what a deployment's instances printed, in a time window."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.schemas.base import Cursor, Input, Output, ResourceIdentifier

# Milliseconds since the epoch, as every time in Unkey's API; lines are stored by the
# nanosecond in a 64-bit integer, which ends in the year 2262.
Millis = Annotated[int, Field(ge=0, le=9_000_000_000_000)]
RegionName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
]


class GetRuntimeLogs(Input):
    deployment_id: ResourceIdentifier
    # The window, both ends included; the last hour up to now when left out.
    start_time: Millis | None = None
    end_time: Millis | None = None
    region: RegionName | None = None
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class RuntimeLogEntryOut(Output):
    """One line an instance printed (`stdout`, `stderr`), or its exit (`event`)."""

    time: int  # ms, Docker's timestamp of the line
    region: str
    instance_id: str  # the container
    stream: Literal["stdout", "stderr", "event"]
    message: str
    exit_code: int | None = None
