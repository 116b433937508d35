"""deployments.getRuntimeLogs: what a deployment's app printed while it ran.

Lines come oldest first from a bounded window (the last hour by default, at most seven
days), a page at a time, so no call reads more than one page of one deployment's lines
from the index on (deployment, time). The region worker writes them (dockyard.log_capture).
"""

from __future__ import annotations

from datetime import timedelta

from api.auth import Caller
from api.crud import deployment_queries as queries
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import BadRequest
from api.pagination import CURSOR_FIX, INVALID_CURSOR, decode_cursor, encode_cursor, page
from api.routes import resource_router
from api.schemas.base import Page
from api.schemas.runtime_logs import GetRuntimeLogs, RuntimeLogEntryOut
from dockyard import runtime_logs
from dockyard.models import Deployment, RuntimeLogLine, now_ms
from dockyard.runtime_logs import NS_PER_MS
from dockyard.specs import RegionSpec

router = resource_router("deployments")

DEFAULT_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=7)
BIGGEST = 2**63  # what the database's integers hold
BACKWARDS = "startTime is after endTime"
BACKWARDS_FIX = "Give a startTime before endTime, both in milliseconds since the epoch."
TOO_WIDE = "the window from startTime to endTime is longer than 7 days"
TOO_WIDE_FIX = "Ask for at most 7 days at a time, and page through each window with its cursor."
NOT_A_REGION = "deployment {id} does not run in region {region!r}"
REGION_FIX = "Use one of its regions: {regions}."


@router.post("/v2/deployments.getRuntimeLogs")
def get_runtime_logs(
    body: GetRuntimeLogs,
    session: SessionDep,
    caller: RootKeyDep,
    meta: MetaDep,
) -> Page[RuntimeLogEntryOut]:
    """What the deployment's instances printed in a time window, oldest first, with each
    instance's exit. Follow a running app by asking again from the last line's time."""
    deployment = readable_deployment(session, caller, body.deployment_id)
    start, end = window(body)
    regions = [RegionSpec.model_validate(region).name for region in deployment.regions]
    if body.region is not None and regions and body.region not in regions:
        raise BadRequest.at(
            "body.region",
            NOT_A_REGION.format(id=deployment.id, region=body.region),
            REGION_FIX.format(regions=", ".join(regions)),
        )
    after = position(body.cursor) if body.cursor is not None else None
    lines = runtime_logs.lines_between(
        session,
        deployment_id=deployment.id,
        start_ns=start * NS_PER_MS,
        end_ns=(end + 1) * NS_PER_MS - 1,
        after=after,
        region=body.region,
        limit=body.limit + 1,
    )
    entries, pagination = page(
        lines, limit=body.limit, cursor_of=lambda line: encode_cursor(line.time_ns, line.id)
    )
    return Page(meta=meta, data=[entry_out(line) for line in entries], pagination=pagination)


def window(body: GetRuntimeLogs) -> tuple[int, int]:
    """The asked window in ms, both ends included; a 400 when it is backwards or too wide."""
    end = body.end_time if body.end_time is not None else now_ms()
    start = body.start_time
    if start is None:
        start = max(end - int(DEFAULT_WINDOW.total_seconds() * 1000), 0)
    if start > end:
        raise BadRequest.at("body.startTime", BACKWARDS, BACKWARDS_FIX)
    if end - start > MAX_WINDOW.total_seconds() * 1000:
        raise BadRequest.at("body.startTime", TOO_WIDE, TOO_WIDE_FIX)
    return start, end


def position(cursor: str) -> tuple[int, int]:
    """The (time, id) of the line a cursor follows."""
    time_ns, row_id = decode_cursor(cursor, kinds=(int, int))
    if not (0 <= time_ns < BIGGEST and 0 <= row_id < BIGGEST):
        raise BadRequest.at("body.cursor", INVALID_CURSOR, CURSOR_FIX)
    return time_ns, row_id


def readable_deployment(session: SessionDep, caller: Caller, deployment_id: str) -> Deployment:
    """The deployment, when the caller may read it or its project's runtime logs."""
    deployment = queries.get_deployment(
        session, workspace_id=caller.workspace_id, deployment_id=deployment_id
    ).deployment
    caller.require(
        "environment",
        "read_deployment",
        deployment.environment_id,
        also=[
            "project.*.read_runtime_logs",
            f"project.{deployment.project_id}.read_runtime_logs",
        ],
    )
    return deployment


def entry_out(line: RuntimeLogLine) -> RuntimeLogEntryOut:
    stream = line.stream if line.stream in ("stdout", "stderr") else "event"
    return RuntimeLogEntryOut(
        time=line.time_ns // NS_PER_MS,
        region=line.region,
        instance_id=line.container_id[:12],
        stream=stream,
        message=line.message,
        exit_code=line.exit_code,
    )
