"""`GET /v2/deployments/{deploymentId}/buildLogs/stream`: a build's log, live, as
server-sent events (a dockyard extension beside Unkey's deployments.listBuildLogs).

Each line is one `log` event whose id is the line's id, so a client that reconnects with
`Last-Event-ID` continues where it stopped. A `status` event says when the deployment's
status changes; the stream ends with an `end` event once the build is over and every
line has been sent. Comments keep idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.build_logs import entry_out, readable_deployment
from api.deps import RootKeyDep, ServicesDep, SessionDep
from api.errors import ERROR_RESPONSES
from dockyard import build_logs
from dockyard.models import BuildLogLine, Deployment

router = APIRouter(tags=["deployments"], responses=ERROR_RESPONSES)

POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
BATCH = 500
# While the deployment is in one of these, its build may still print.
BUILD_NOT_OVER = frozenset({"pending", "queued", "building"})


@router.get(
    "/v2/deployments/{deployment_id}/buildLogs/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream_build_logs(
    deployment_id: str,
    session: SessionDep,
    caller: RootKeyDep,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Follow a deployment's build log while it is written."""
    deployment = readable_deployment(session, caller, deployment_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return StreamingResponse(
        _events(services.sessions, deployment.id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    sessions: sessionmaker[Session], deployment_id: str, after: int
) -> AsyncIterator[str]:
    status = ""
    quiet_since = time.monotonic()
    while True:
        # The status is read before the lines: a build that ended after this read still
        # has its last lines sent by this round or the next one.
        now_status, lines = await run_in_threadpool(_next, sessions, deployment_id, after)
        if now_status != status:
            status = now_status
            yield _event("status", json.dumps({"status": status}))
        for line in lines:
            after = line.id
            payload = entry_out(line).model_dump(by_alias=True)
            yield _event("log", json.dumps(payload), event_id=str(line.id))
        if lines:
            quiet_since = time.monotonic()
            continue
        if status not in BUILD_NOT_OVER:
            yield _event("end", json.dumps({"status": status}))
            return
        if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            yield ": still building\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


def _next(
    sessions: sessionmaker[Session], deployment_id: str, after: int
) -> tuple[str, list[BuildLogLine]]:
    with sessions() as session:
        status = session.get_one(Deployment, deployment_id).status
        lines = build_logs.lines_after(
            session, deployment_id=deployment_id, after_id=after, limit=BATCH
        )
        return status, lines


def _event(name: str, data: str, *, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {data}\n\n"
