"""keys.verifyKey: the same checks, in the same order, as the gateway's keyauth policy
(dockyard.verification), answered as Unkey does: always 200, `valid` and `code` tell.

A root key that may verify keys only in other keyspaces gets NOT_FOUND, so key existence
does not leak; one scoped to other keys of this key's keyspace gets FORBIDDEN.
"""

from __future__ import annotations

from api.analytics import Analytics, AnalyticsDep
from api.auth import Caller
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import BadRequest, Forbidden
from api.permissions import urn
from api.redis_deps import LimiterDep
from api.routes import resource_router
from api.schemas.base import Envelope
from api.schemas.keys import IdentityOut
from api.schemas.verification import RatelimitResult, Verification, VerifyKey
from dockyard import verification as checks
from dockyard.keys import hash_key
from dockyard.permission_query import QueryError, parse
from dockyard.ratelimit import RateLimiter

router = resource_router("keys")

NO_VERIFY_RIGHT = (
    "Your root key may not verify keys: it needs 'api.*.verify_key' or 'api.<api id>.verify_key'."
)


def _scope(caller: Caller, record: checks.KeyRecord) -> str | None:
    """NOT_FOUND or FORBIDDEN when the caller may not verify this key, else None."""
    keyspace = record.keyspace_id
    if caller.allows(
        f"api.{keyspace}.verify_key",
        urn(caller.workspace_id, f"keyspaces/{keyspace}/keys/*", "verify_key"),
        urn(caller.workspace_id, f"keyspaces/{keyspace}/keys/{record.id}", "verify_key"),
    ):
        return None
    scoped = f"keyspaces/{keyspace}/keys/"
    if any(scoped in permission for permission in caller.permissions):
        return checks.FORBIDDEN
    return checks.NOT_FOUND


@router.post("/v2/keys.verifyKey")
def verify_key(
    body: VerifyKey,
    session: SessionDep,
    caller: RootKeyDep,
    limiter: LimiterDep,
    meta: MetaDep,
    analytics: AnalyticsDep,
) -> Envelope[Verification]:
    if not any(p == "*" or "verify_key" in p for p in caller.permissions):
        raise Forbidden(NO_VERIFY_RIGHT)
    try:
        query = parse(body.permissions) if body.permissions else None
    except QueryError as error:
        raise BadRequest.at("body.permissions", str(error)) from error
    record = checks.load_key(session, hash_key(body.key))
    if record is not None and record.workspace_id != caller.workspace_id:
        record = None
    scope = _scope(caller, record) if record is not None else None
    if scope == checks.NOT_FOUND:
        record = None
    now = checks.now_ms()
    code = checks.precheck(
        record,
        now_ms=now,
        keyspaces=body.keyspaces or (),
        query=query,
        forbidden=scope == checks.FORBIDDEN,
    )
    if record is None or code in (checks.NOT_FOUND, checks.FORBIDDEN):
        code = code or checks.NOT_FOUND
        _record(analytics, caller, record if code == checks.FORBIDDEN else None, code, 0)
        return Envelope(meta=meta, data=Verification(valid=False, code=code))
    ratelimits: list[RatelimitResult] = []
    credits = record.credits
    if code is None:
        requested = [limit.model_dump() for limit in body.ratelimits or []]
        ratelimits = _take_limits(limiter, record, requested)
        if any(result.exceeded for result in ratelimits):
            code = checks.RATE_LIMITED
    spent_credits = 0
    if code is None and record.limited_credits:
        cost = body.credits.cost if body.credits is not None else 1
        spent, credits = checks.spend_credits(session, record.id, cost, now_ms=now)
        if not spent:
            code = checks.USAGE_EXCEEDED
        else:
            spent_credits = cost
    code = code or checks.VALID
    _record(analytics, caller, record, code, spent_credits)
    return Envelope(meta=meta, data=_answer(record, code, credits, ratelimits))


def _record(
    analytics: Analytics | None,
    caller: Caller,
    record: checks.KeyRecord | None,
    code: str,
    spent_credits: int,
) -> None:
    """The answer, for analytics.getVerifications and the key's lastUsedAt."""
    if analytics is None:
        return
    analytics.verified(
        workspace_id=caller.workspace_id,
        keyspace_id=record.keyspace_id if record is not None else None,
        key_id=record.id if record is not None else None,
        identity_id=record.identity_id if record is not None else None,
        external_id=record.external_id if record is not None else None,
        outcome=code,
        spent_credits=spent_credits,
    )


def _take_limits(
    limiter: RateLimiter, record: checks.KeyRecord, requested: list[dict[str, object]]
) -> list[RatelimitResult]:
    results = []
    for check in checks.limit_checks(record, requested):
        decision = limiter.take(check.counter, check.limit, check.duration, check.cost)
        results.append(
            RatelimitResult(
                exceeded=not decision.passed,
                id=check.id,
                name=check.name,
                limit=check.limit,
                duration=check.duration,
                reset=decision.reset,
                remaining=decision.remaining,
                auto_apply=check.auto_apply,
            )
        )
    return results


def _answer(
    record: checks.KeyRecord, code: str, credits: int | None, ratelimits: list[RatelimitResult]
) -> Verification:
    identity = None
    if record.identity_id and record.external_id:
        identity = IdentityOut(
            id=record.identity_id, external_id=record.external_id, meta=record.identity_meta
        )
    return Verification(
        valid=code == checks.VALID,
        code=code,
        key_id=record.id,
        keyspace_id=record.keyspace_id,
        name=record.name,
        meta=record.meta,
        expires=record.expires_at,
        credits=credits if record.limited_credits else None,
        enabled=record.enabled,
        permissions=sorted(record.permissions),
        roles=list(record.roles),
        identity=identity,
        ratelimits=ratelimits or None,
    )
