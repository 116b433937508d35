"""ratelimit.limit and ratelimit.multiLimit: counters shared with every other caller of
the same Redis (dockyard.ratelimit), exact at the limit. Namespaces are named freely and
made on first use, as in Unkey; permissions may name them by id afterwards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body
from pydantic import Field, StringConstraints
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Caller
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import BadRequest
from api.redis_deps import LimiterDep
from api.routes import resource_router
from api.schemas.base import Envelope, Input, Output
from dockyard.ids import new_id
from dockyard.keyspaces import RatelimitNamespace
from dockyard.ratelimit import RateLimiter, counter_key

router = resource_router("ratelimit")


class LimitRequest(Input):
    namespace: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    duration: Annotated[int, Field(ge=1000, le=86_400_000)]
    identifier: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.:/-]+$")
    ]
    limit: Annotated[int, Field(ge=1)]
    cost: Annotated[int, Field(ge=0)] = 1


class LimitResult(Output):
    limit: int
    remaining: int
    reset: int
    success: bool


class MultiLimitCheck(Output):
    namespace: str
    identifier: str
    limit: int
    remaining: int
    reset: int
    passed: bool


class MultiLimitResult(Output):
    passed: bool
    limits: list[MultiLimitCheck]


def namespace_for(session: Session, caller: Caller, name: str) -> RatelimitNamespace:
    """The namespace by id or name, made on first use; its id decides the permission."""
    query = select(RatelimitNamespace).where(
        RatelimitNamespace.workspace_id == caller.workspace_id,
        or_(RatelimitNamespace.id == name, RatelimitNamespace.name == name),
    )
    namespace = session.scalar(query)
    if namespace is None:
        caller.require("ratelimit", "limit")
        namespace = RatelimitNamespace(
            id=new_id("ratelimit_namespace"), workspace_id=caller.workspace_id, name=name
        )
        session.add(namespace)
        try:
            session.commit()
        except IntegrityError:  # another request made it first
            session.rollback()
            namespace = session.scalar(query)
            if namespace is None:
                raise
    caller.require("ratelimit", "limit", namespace.id)
    return namespace


def _take(limiter: RateLimiter, namespace: RatelimitNamespace, ask: LimitRequest) -> LimitResult:
    decision = limiter.take(
        counter_key("ns", namespace.id, str(ask.duration), ask.identifier),
        ask.limit,
        ask.duration,
        ask.cost,
    )
    return LimitResult(
        limit=ask.limit, remaining=decision.remaining, reset=decision.reset, success=decision.passed
    )


@router.post("/v2/ratelimit.limit")
def limit(
    body: LimitRequest, session: SessionDep, caller: RootKeyDep, limiter: LimiterDep, meta: MetaDep
) -> Envelope[LimitResult]:
    """Take `cost` from the identifier's window; 200 either way, `success` tells."""
    namespace = namespace_for(session, caller, body.namespace)
    return Envelope(meta=meta, data=_take(limiter, namespace, body))


@router.post("/v2/ratelimit.multiLimit")
def multi_limit(
    body: Annotated[list[LimitRequest], Body()],
    session: SessionDep,
    caller: RootKeyDep,
    limiter: LimiterDep,
    meta: MetaDep,
) -> Envelope[MultiLimitResult]:
    """Several independent checks in one call; `passed` is true when all of them passed."""
    if not body:
        raise BadRequest.at("body", "needs at least one rate limit check")
    checks = []
    for ask in body:
        namespace = namespace_for(session, caller, ask.namespace)
        result = _take(limiter, namespace, ask)
        checks.append(
            MultiLimitCheck(
                namespace=ask.namespace,
                identifier=ask.identifier,
                limit=result.limit,
                remaining=result.remaining,
                reset=result.reset,
                passed=result.success,
            )
        )
    return Envelope(
        meta=meta, data=MultiLimitResult(passed=all(c.passed for c in checks), limits=checks)
    )
