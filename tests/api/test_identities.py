"""identities.* through Unkey's own SDK: who keys belong to, and rate limits every key of
an identity shares at verification."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.keyspaces import Key
from dockyard.models import Workspace
from tests.api.conftest import RunningApi, assert_error

REQUESTS = {"name": "requests", "limit": 3, "duration": 60_000, "autoApply": True}


def test_identities_are_created_read_listed_updated_and_deleted(unkey: Unkey) -> None:
    created = unkey.identities.create_identity(
        external_id="user_1", meta={"plan": "pro"}, ratelimits=[REQUESTS]
    ).data
    assert created.identity_id.startswith("id_")
    by_external = unkey.identities.get_identity(identity="user_1").data
    by_id = unkey.identities.get_identity(identity=created.identity_id).data
    assert by_external == by_id
    assert by_id.id == created.identity_id and by_id.external_id == "user_1"
    assert by_id.meta == {"plan": "pro"}
    [limit] = by_id.ratelimits or []
    assert limit.id.startswith("rl_")
    assert limit.name == "requests" and limit.limit == 3 and limit.duration == 60_000
    assert limit.auto_apply

    # Omitted fields stay; given ones replace what was there.
    updated = unkey.identities.update_identity(identity="user_1", meta={"plan": "team"}).data
    assert updated.meta == {"plan": "team"}
    assert [r.name for r in updated.ratelimits or []] == ["requests"]
    unkey.identities.update_identity(identity=created.identity_id, ratelimits=[])
    again = unkey.identities.get_identity(identity="user_1").data
    assert again.meta == {"plan": "team"} and not again.ratelimits

    unkey.identities.delete_identity(identity="user_1")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.identities.get_identity(identity="user_1")
    # The externalId is free again at once.
    assert unkey.identities.create_identity(external_id="user_1").data.identity_id


def test_identities_are_listed_page_by_page_and_searched(unkey: Unkey) -> None:
    made = {
        unkey.identities.create_identity(external_id=name).data.identity_id
        for name in ("alice", "bob", "carol", "Alicia")
    }
    first = unkey.identities.list_identities(limit=3)
    assert first is not None and first.result.pagination.has_more
    second = first.next()
    assert second is not None and not second.result.pagination.has_more
    assert second.result.pagination.cursor is None and second.next() is None
    listed = [identity.id for identity in first.result.data + second.result.data]
    assert len(listed) == 4 and set(listed) == made and listed == sorted(listed)

    found = unkey.identities.list_identities(search="ALI")
    assert found is not None
    assert sorted(i.external_id for i in found.result.data) == ["Alicia", "alice"]
    nobody = unkey.identities.list_identities(search="100%_")
    assert nobody is not None and nobody.result.data == []


def test_a_taken_external_id_is_a_409_and_unknown_identities_404(unkey: Unkey) -> None:
    unkey.identities.create_identity(external_id="org_7")
    with pytest.raises(errors.ConflictErrorResponse) as taken:
        unkey.identities.create_identity(external_id="org_7")
    assert 'externalId "org_7" already exists' in taken.value.data.error.detail
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.identities.get_identity(identity="org_8")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.identities.update_identity(identity="org_8", meta={})
    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.identities.delete_identity(identity="org_8")
    assert "org_8" in missing.value.data.error.detail


@pytest.mark.parametrize(
    ("path", "body", "location"),
    [
        ("createIdentity", {"externalId": "has space"}, "body.externalId"),
        ("createIdentity", {"externalId": "u", "ratelimits": [REQUESTS, REQUESTS]}, "ratelimits"),
        ("createIdentity", {"externalId": "u", "ratelimits": [{"name": "rq"}]}, "ratelimits"),
        ("updateIdentity", {"identity": "u", "colour": "red"}, "colour"),
        ("listIdentities", {"cursor": "not-a-cursor"}, "body.cursor"),
        ("getIdentity", {}, "identity"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    http: httpx.Client, path: str, body: dict[str, Any], location: str
) -> None:
    if path == "updateIdentity":
        http.post("/v2/identities.createIdentity", json={"externalId": "u"})
    error = assert_error(http.post(f"/v2/identities.{path}", json=body), 400)
    assert any(location in item["location"] for item in error["errors"]), error


def test_each_operation_needs_its_permission(unkey: Unkey, api: RunningApi, db: Any) -> None:
    identity_id = unkey.identities.create_identity(external_id="user_9").data.identity_id
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, reader = create_root_key(
            session, workspace_id=workspace_id, permissions=["identity.*.read_identity"]
        )
        _, one = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[f"identity.{identity_id}.update_identity"],
        )
    with Unkey(server_url=api.url, root_key=reader) as client:
        assert client.identities.get_identity(identity="user_9").data.id == identity_id
        listed = client.identities.list_identities()
        assert listed is not None and [i.id for i in listed.result.data] == [identity_id]
        with pytest.raises(errors.ForbiddenErrorResponse) as refused:
            client.identities.create_identity(external_id="user_10")
        assert "'identity.*.create_identity'" in refused.value.data.error.detail
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.identities.update_identity(identity="user_9", meta={})
    with Unkey(server_url=api.url, root_key=one) as client:
        client.identities.update_identity(identity="user_9", meta={"seen": True})
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.identities.get_identity(identity="user_9")
    with (
        Unkey(server_url=api.url, root_key=reader) as client,
        pytest.raises(errors.ForbiddenErrorResponse) as refused_delete,
    ):
        client.identities.delete_identity(identity="user_9")
    assert "delete_identity" in refused_delete.value.data.error.detail
    assert unkey.identities.get_identity(identity="user_9").data.meta == {"seen": True}


def test_keys_of_an_identity_share_its_rate_limits(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="shared").data.api_id
    unkey.identities.create_identity(
        external_id="team_1",
        ratelimits=[REQUESTS, {"name": "exports", "limit": 1, "duration": 60_000}],
    )
    laptop = unkey.keys.create_key(api_id=api_id, external_id="team_1").data.key
    phone = unkey.keys.create_key(api_id=api_id, external_id="team_1").data.key
    codes = [
        unkey.keys.verify_key(key=key).data.code.value for key in (laptop, phone, laptop, phone)
    ]
    assert codes == ["VALID", "VALID", "VALID", "RATE_LIMITED"]
    limited = unkey.keys.verify_key(key=laptop).data
    assert limited.identity is not None and limited.identity.external_id == "team_1"
    [result] = limited.ratelimits or []
    assert result.exceeded and result.name == "requests" and result.auto_apply

    # A limit that is not auto-applied counts only when asked for, by name.
    unkey.identities.update_identity(
        identity="team_1", ratelimits=[{"name": "exports", "limit": 1, "duration": 60_000}]
    )
    assert unkey.keys.verify_key(key=laptop).data.code.value == "VALID"
    asked = [{"name": "exports"}]
    assert unkey.keys.verify_key(key=phone, ratelimits=asked).data.code.value == "VALID"
    assert unkey.keys.verify_key(key=laptop, ratelimits=asked).data.code.value == "RATE_LIMITED"


def test_a_keys_own_limit_takes_precedence_over_its_identitys(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="precedence").data.api_id
    unkey.identities.create_identity(external_id="team_2", ratelimits=[{**REQUESTS, "limit": 1}])
    roomy = unkey.keys.create_key(
        api_id=api_id, external_id="team_2", ratelimits=[{**REQUESTS, "limit": 5}]
    ).data.key
    plain = unkey.keys.create_key(api_id=api_id, external_id="team_2").data.key
    assert unkey.keys.verify_key(key=plain).data.code.value == "VALID"
    assert unkey.keys.verify_key(key=plain).data.code.value == "RATE_LIMITED"
    verified = [unkey.keys.verify_key(key=roomy).data for _ in range(2)]
    assert [v.code.value for v in verified] == ["VALID", "VALID"]
    assert [r.limit for r in verified[0].ratelimits or []] == [5]


def test_deleting_an_identity_unlinks_its_keys(unkey: Unkey, db: sessionmaker[Session]) -> None:
    api_id = unkey.apis.create_api(name="unlink").data.api_id
    unkey.identities.create_identity(external_id="user_3", ratelimits=[{**REQUESTS, "limit": 1}])
    key = unkey.keys.create_key(api_id=api_id, external_id="user_3").data
    assert unkey.keys.verify_key(key=key.key).data.code.value == "VALID"
    assert unkey.keys.verify_key(key=key.key).data.code.value == "RATE_LIMITED"

    unkey.identities.delete_identity(identity="user_3")
    verified = unkey.keys.verify_key(key=key.key).data
    assert verified.code.value == "VALID" and verified.identity is None
    assert unkey.keys.get_key(key_id=key.key_id).data.identity is None
    with db() as session:
        row = session.scalars(select(Key).where(Key.id == key.key_id)).one()
        assert row.identity_id is None
