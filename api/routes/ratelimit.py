"""ratelimit.limit and ratelimit.multiLimit: counters shared with every other caller of
the same Redis (dockyard.ratelimit), exact at the limit. Namespaces are named freely and
made on first use, as in Unkey; permissions may name them by id afterwards. An override
set for the identifier (api.routes.ratelimit_overrides) replaces the limit and duration
a request asks for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body
from pydantic import Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.analytics import Analytics, AnalyticsDep
from api.auth import Caller
from api.crud.ratelimit_overrides import namespace_query, override_for
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import BadRequest
from api.redis_deps import LimiterDep
from api.routes import resource_router
from api.schemas.base import Envelope, Input, Output
from api.schemas.ratelimit import Duration, NamespaceRef
from dockyard.ids import new_id
from dockyard.keyspaces import RatelimitNamespace
from dockyard.ratelimit import RateLimiter, counter_key

router = resource_router("ratelimit")


class LimitRequest(Input):
    namespace: NamespaceRef
    duration: Duration
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
    override_id: str | None = None


class MultiLimitCheck(Output):
    namespace: str
    identifier: str
    limit: int
    remaining: int
    reset: int
    passed: bool
    override_id: str | None = None


class MultiLimitResult(Output):
    passed: bool
    limits: list[MultiLimitCheck]


def namespace_for(session: Session, caller: Caller, name: str) -> RatelimitNamespace:
    """The namespace by id or name, made on first use; its id decides the permission."""
    query = namespace_query(workspace_id=caller.workspace_id, namespace=name)
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


def _take(
    session: Session, limiter: RateLimiter, namespace: RatelimitNamespace, ask: LimitRequest
) -> LimitResult:
    override = override_for(session, namespace_id=namespace.id, identifier=ask.identifier)
    limit, duration = (override.limit, override.duration) if override else (ask.limit, ask.duration)
    decision = limiter.take(
        counter_key("ns", namespace.id, str(duration), ask.identifier), limit, duration, ask.cost
    )
    return LimitResult(
        limit=limit,
        remaining=decision.remaining,
        reset=decision.reset,
        success=decision.passed,
        override_id=override.id if override else None,
    )


def _record(
    analytics: Analytics | None,
    namespace: RatelimitNamespace,
    ask: LimitRequest,
    result: LimitResult,
) -> None:
    """The decision, for analytics.getRatelimits."""
    if analytics is not None:
        analytics.limited(
            workspace_id=namespace.workspace_id,
            namespace_id=namespace.id,
            identifier=ask.identifier,
            passed=result.success,
            limit=result.limit,
            remaining=result.remaining,
            reset_at=result.reset,
            override_id=result.override_id,
        )


@router.post("/v2/ratelimit.limit")
def limit(
    body: LimitRequest,
    session: SessionDep,
    caller: RootKeyDep,
    limiter: LimiterDep,
    meta: MetaDep,
    analytics: AnalyticsDep,
) -> Envelope[LimitResult]:
    """Take `cost` from the identifier's window; 200 either way, `success` tells."""
    namespace = namespace_for(session, caller, body.namespace)
    result = _take(session, limiter, namespace, body)
    _record(analytics, namespace, body, result)
    return Envelope(meta=meta, data=result)


@router.post("/v2/ratelimit.multiLimit")
def multi_limit(
    body: Annotated[list[LimitRequest], Body()],
    session: SessionDep,
    caller: RootKeyDep,
    limiter: LimiterDep,
    meta: MetaDep,
    analytics: AnalyticsDep,
) -> Envelope[MultiLimitResult]:
    """Several independent checks in one call; `passed` is true when all of them passed."""
    if not body:
        raise BadRequest.at("body", "needs at least one rate limit check")
    checks = []
    for ask in body:
        namespace = namespace_for(session, caller, ask.namespace)
        result = _take(session, limiter, namespace, ask)
        _record(analytics, namespace, ask, result)
        checks.append(
            MultiLimitCheck(
                namespace=ask.namespace,
                identifier=ask.identifier,
                limit=result.limit,
                remaining=result.remaining,
                reset=result.reset,
                passed=result.success,
                override_id=result.override_id,
            )
        )
    return Envelope(
        meta=meta, data=MultiLimitResult(passed=all(c.passed for c in checks), limits=checks)
    )
