"""ratelimit.*Override through Unkey's own SDK: per-identifier limits, exact or by wildcard
pattern, that replace what ratelimit.limit is asked for."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.keyspaces import RatelimitNamespace, RatelimitOverride
from dockyard.models import Workspace
from tests.api.conftest import RunningApi, assert_error

MINUTE = 60_000


def limit(unkey: Unkey, identifier: str, *, asked: int = 2, namespace: str = "api") -> Any:
    """One ratelimit.limit call; the first one makes the namespace."""
    return unkey.ratelimit.limit(
        namespace=namespace, identifier=identifier, limit=asked, duration=MINUTE
    ).data


def successes(unkey: Unkey, identifier: str, *, calls: int) -> list[bool]:
    return [limit(unkey, identifier).success for _ in range(calls)]


def test_overrides_are_set_read_listed_and_deleted(unkey: Unkey) -> None:
    limit(unkey, "anyone")
    made = unkey.ratelimit.set_override(
        namespace="api", identifier="premium_1", limit=10, duration=MINUTE
    ).data
    assert made.override_id.startswith("rlo_")
    got = unkey.ratelimit.get_override(namespace="api", identifier="premium_1").data
    assert (got.override_id, got.identifier, got.limit, got.duration) == (
        made.override_id,
        "premium_1",
        10,
        MINUTE,
    )

    # Setting it again changes the same override.
    again = unkey.ratelimit.set_override(
        namespace="api", identifier="premium_1", limit=20, duration=2 * MINUTE
    ).data
    assert again.override_id == made.override_id
    changed = unkey.ratelimit.get_override(namespace="api", identifier="premium_1").data
    assert (changed.limit, changed.duration) == (20, 2 * MINUTE)

    unkey.ratelimit.delete_override(namespace="api", identifier="premium_1")
    with pytest.raises(errors.NotFoundErrorResponse) as gone:
        unkey.ratelimit.get_override(namespace="api", identifier="premium_1")
    assert "premium_1" in gone.value.data.error.detail


def test_overrides_are_listed_page_by_page(unkey: Unkey, db: sessionmaker[Session]) -> None:
    limit(unkey, "anyone")
    made = {
        unkey.ratelimit.set_override(
            namespace="api", identifier=name, limit=5, duration=MINUTE
        ).data.override_id
        for name in ("a", "b", "c", "team_*", "*.example.com")
    }
    first = unkey.ratelimit.list_overrides(namespace="api", limit=2)
    assert first is not None and first.result.pagination.has_more
    pages = [first]
    while (following := pages[-1].next()) is not None:
        pages.append(following)
    assert len(pages) == 3 and pages[-1].result.pagination.cursor is None
    listed = [o.override_id for page in pages for o in page.result.data]
    assert set(listed) == made and listed == sorted(listed)

    # A namespace is named by its id as well as by its name.
    with db() as session:
        namespace_id = session.scalar(select(RatelimitNamespace.id))
    by_id = unkey.ratelimit.list_overrides(namespace=namespace_id, limit=100)
    assert by_id is not None and {o.override_id for o in by_id.result.data} == made


def test_an_override_raises_or_lowers_the_limit_a_request_asks_for(unkey: Unkey) -> None:
    limit(unkey, "anyone")
    vip = unkey.ratelimit.set_override(
        namespace="api", identifier="vip", limit=4, duration=MINUTE
    ).data.override_id
    unkey.ratelimit.set_override(namespace="api", identifier="abuser", limit=1, duration=1000)

    assert successes(unkey, "vip", calls=5) == [True] * 4 + [False]
    counted = limit(unkey, "vip")
    assert counted.limit == 4 and counted.remaining == 0 and counted.override_id == vip
    lowered = limit(unkey, "abuser")
    assert lowered.success and lowered.limit == 1
    # The override's one-second window, not the request's minute.
    assert lowered.reset <= time.time() * 1000 + 1000
    assert successes(unkey, "regular", calls=3) == [True, True, False]
    assert limit(unkey, "regular").override_id is None

    # Deleting the override gives the identifier back the limit its requests ask for.
    unkey.ratelimit.delete_override(namespace="api", identifier="vip")
    back = limit(unkey, "vip")
    assert back.limit == 2 and back.override_id is None


def test_multi_limit_applies_overrides_too(unkey: Unkey) -> None:
    limit(unkey, "anyone", namespace="sms")
    banned = unkey.ratelimit.set_override(
        namespace="sms", identifier="spammer", limit=0, duration=MINUTE
    ).data.override_id
    checks = unkey.ratelimit.multi_limit(
        request=[
            {"namespace": "sms", "identifier": "spammer", "limit": 5, "duration": MINUTE},
            {"namespace": "email", "identifier": "spammer", "limit": 5, "duration": MINUTE},
        ]
    ).data
    assert not checks.passed
    sms, email = checks.limits
    assert not sms.passed and sms.limit == 0 and sms.override_id == banned
    assert email.passed and email.limit == 5 and email.override_id is None


def test_wildcard_overrides_match_and_an_exact_one_beats_them(unkey: Unkey) -> None:
    limit(unkey, "anyone")

    def override(identifier: str, allowed: int) -> str:
        return unkey.ratelimit.set_override(
            namespace="api", identifier=identifier, limit=allowed, duration=MINUTE
        ).data.override_id

    premium = override("premium_*", 3)
    gold = override("premium_gold", 1)
    greens = override("premium_g*n", 5)
    domain = override("*.acme.com", 6)
    assert successes(unkey, "premium_1", calls=4) == [True] * 3 + [False]
    assert limit(unkey, "premium_1").override_id == premium
    assert successes(unkey, "premium_gold", calls=2) == [True, False]
    assert limit(unkey, "premium_gold").override_id == gold
    # Of two matching patterns, the more specific one applies.
    assert limit(unkey, "premium_green").override_id == greens
    assert limit(unkey, "premium_grey").override_id == premium
    assert limit(unkey, "mail.acme.com").override_id == domain
    for unmatched in ("premium", "xpremium_1", "acme.com", "mail.acme.com.evil"):
        assert limit(unkey, unmatched).override_id is None, unmatched


def test_each_operation_needs_its_permission(
    unkey: Unkey, api: RunningApi, db: sessionmaker[Session]
) -> None:
    limit(unkey, "anyone")
    limit(unkey, "anyone", namespace="other")
    unkey.ratelimit.set_override(namespace="api", identifier="vip", limit=9, duration=MINUTE)
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        namespace_id = session.scalar(
            select(RatelimitNamespace.id).where(RatelimitNamespace.name == "api")
        )
        _, limiter = create_root_key(
            session, workspace_id=workspace_id, permissions=["ratelimit.*.limit"]
        )
        _, reader = create_root_key(
            session, workspace_id=workspace_id, permissions=["ratelimit.*.read_override"]
        )
        _, one = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[
                f"ratelimit.{namespace_id}.set_override",
                f"ratelimit.{namespace_id}.delete_override",
            ],
        )
    with Unkey(server_url=api.url, root_key=limiter) as client:
        with pytest.raises(errors.ForbiddenErrorResponse) as refused:
            client.ratelimit.set_override(namespace="api", identifier="x", limit=1, duration=MINUTE)
        assert "'ratelimit.*.set_override'" in refused.value.data.error.detail
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.get_override(namespace="api", identifier="vip")
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.list_overrides(namespace="api")
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.delete_override(namespace="api", identifier="vip")
    with Unkey(server_url=api.url, root_key=reader) as client:
        assert client.ratelimit.get_override(namespace="api", identifier="vip").data.limit == 9
        listed = client.ratelimit.list_overrides(namespace="api")
        assert listed is not None and [o.identifier for o in listed.result.data] == ["vip"]
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.delete_override(namespace="api", identifier="vip")
    with Unkey(server_url=api.url, root_key=one) as client:
        client.ratelimit.set_override(namespace="api", identifier="vip", limit=7, duration=MINUTE)
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.set_override(
                namespace="other", identifier="vip", limit=7, duration=MINUTE
            )
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.ratelimit.get_override(namespace="api", identifier="vip")
        client.ratelimit.delete_override(namespace="api", identifier="vip")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.ratelimit.get_override(namespace="api", identifier="vip")


def test_unknown_namespaces_and_overrides_are_404s(unkey: Unkey) -> None:
    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.ratelimit.set_override(namespace="nope", identifier="x", limit=1, duration=MINUTE)
    assert '"nope"' in missing.value.data.error.detail
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.ratelimit.list_overrides(namespace="nope")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.ratelimit.get_override(namespace="nope", identifier="x")
    limit(unkey, "anyone")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.ratelimit.get_override(namespace="api", identifier="x")
    with pytest.raises(errors.NotFoundErrorResponse) as absent:
        unkey.ratelimit.delete_override(namespace="api", identifier="premium_*")
    assert '"premium_*"' in absent.value.data.error.detail


GOOD = {"namespace": "api", "identifier": "vip", "limit": 5, "duration": MINUTE}


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("setOverride", {**GOOD, "limit": -1}, "limit"),
        ("setOverride", {**GOOD, "duration": 999}, "duration"),
        ("setOverride", {**GOOD, "identifier": "has space"}, "identifier"),
        ("setOverride", {**GOOD, "identifier": ""}, "identifier"),
        ("setOverride", {**GOOD, "colour": "red"}, "colour"),
        ("setOverride", {"namespace": "api", "identifier": "vip"}, "limit"),
        ("getOverride", {"namespace": "api"}, "identifier"),
        ("listOverrides", {"namespace": "api", "cursor": "not-a-cursor"}, "body.cursor"),
        ("listOverrides", {"namespace": "api", "limit": 0}, "limit"),
        ("deleteOverride", {"identifier": "vip"}, "namespace"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    http: httpx.Client,
    db: sessionmaker[Session],
    path: str,
    body: dict[str, Any],
    location: str,
) -> None:
    limit_body = {"namespace": "api", "identifier": "anyone", "limit": 1, "duration": MINUTE}
    assert http.post("/v2/ratelimit.limit", json=limit_body).status_code == 200
    error = assert_error(http.post(f"/v2/ratelimit.{path}", json=body), 400)
    assert any(location in item["location"] for item in error["errors"]), error
    with db() as session:
        assert session.scalar(select(func.count()).select_from(RatelimitOverride)) == 0
