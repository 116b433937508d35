"""rootKeys.*, through Unkey's SDK: permissions are enforced, never widened."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from unkey.py import Unkey, errors

from dockyard.keys import hash_key
from dockyard.models import RootKey, Workspace
from tests.api.conftest import ROOT_KEY, RunningApi


@pytest.fixture
def workspace_id(db) -> str:
    with db() as session:
        found = session.scalar(select(Workspace.id))
    assert found is not None
    return found


def sdk(api: RunningApi, key: str) -> Unkey:
    return Unkey(server_url=api.url, root_key=key)


def test_create_list_update_delete(unkey: Unkey, api: RunningApi, db, workspace_id: str) -> None:
    created = unkey.root_keys.create_key(
        permissions=["project.*.read_project", "project.*.read_project"], name="ci"
    ).data
    assert created.key_id.startswith("rk_") and created.key.startswith("dy_root_")
    with db() as session:
        row = session.get(RootKey, created.key_id)
        assert row is not None and row.key_hash == hash_key(created.key)
        assert created.key not in (row.key_hash, row.start)  # stored only as a hash

    with sdk(api, created.key) as ci:
        assert ci.projects.list_projects().result.data == []
        with pytest.raises(errors.ForbiddenErrorResponse):
            ci.projects.create_project(name="Shop", slug="shop")
        # Holding no rootKeys read permission, it sees no keys: an empty page, not a 403.
        assert ci.root_keys.list_keys().result.data == []

    listed = unkey.root_keys.list_keys(limit=1)
    assert listed is not None and listed.result.pagination.has_more
    following = listed.next()
    assert following is not None
    keys = {key.key_id: key for page in (listed, following) for key in page.result.data}
    ci_key = keys[created.key_id]
    assert (ci_key.name, ci_key.enabled, ci_key.expires) == ("ci", True, None)
    assert ci_key.permissions == ["project.*.read_project"]
    assert ci_key.start == created.key[:12] and ci_key.end == created.key[-4:]
    assert ci_key.last_used_at > 0

    unkey.root_keys.update_key(
        key_id=created.key_id, name=None, permissions=["project.*.create_project"]
    )
    with sdk(api, created.key) as ci:
        ci.projects.create_project(name="Shop", slug="shop")
        with pytest.raises(errors.ForbiddenErrorResponse):
            ci.projects.list_projects()

    unkey.root_keys.update_key(key_id=created.key_id, enabled=False)
    with sdk(api, created.key) as ci, pytest.raises(errors.ForbiddenErrorResponse) as disabled:
        ci.projects.create_project(name="Other", slug="other")
    assert "disabled" in disabled.value.data.error.detail

    unkey.root_keys.delete_key(key_id=created.key_id)
    with sdk(api, created.key) as ci, pytest.raises(errors.UnauthorizedErrorResponse):
        ci.projects.list_projects()
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.root_keys.delete_key(key_id=created.key_id)


def test_a_key_cannot_grant_more_than_it_holds(unkey: Unkey, api: RunningApi, workspace_id) -> None:
    manager_permissions = [
        f"unkey:v1:{workspace_id}:rootKeys/*#write",
        f"unkey:v1:{workspace_id}:rootKeys/*#read",
        "project.*.read_project",
    ]
    manager = unkey.root_keys.create_key(permissions=manager_permissions).data
    with sdk(api, manager.key) as client:
        narrower = client.root_keys.create_key(permissions=["project.proj_abc.read_project"])
        assert narrower.data.key_id.startswith("rk_")
        with pytest.raises(errors.ForbiddenErrorResponse) as wider:
            client.root_keys.create_key(permissions=["project.*.create_project"])
        assert "project.*.create_project" in wider.value.data.error.detail
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.root_keys.update_key(key_id=narrower.data.key_id, permissions=["*"])
        # Writing keys does not include deleting them.
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.root_keys.delete_key(key_id=narrower.data.key_id)
        readable = {key.key_id for key in client.root_keys.list_keys().result.data}
        assert narrower.data.key_id in readable

    with pytest.raises(errors.BadRequestErrorResponse) as typo:
        unkey.root_keys.create_key(permissions=["project.*.read_projects"])
    assert typo.value.data.error.errors[0].location == "body.permissions[0]"
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.root_keys.create_key(permissions=["unkey:v1:ws_other:rootKeys/*#read"])
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.root_keys.create_key(permissions=["*"], expires=1000)
    with sdk(api, "dy_root_nope") as nobody, pytest.raises(errors.UnauthorizedErrorResponse):
        nobody.root_keys.create_key(permissions=["*"])


def test_reroll_and_expiry(unkey: Unkey, api: RunningApi, db) -> None:
    original = unkey.root_keys.create_key(permissions=["project.*.read_project"], name="ops").data
    rerolled = unkey.root_keys.reroll_key(key_id=original.key_id, expiration=0).data
    assert rerolled.key_id != original.key_id and rerolled.key != original.key
    with sdk(api, original.key) as old, pytest.raises(errors.UnauthorizedErrorResponse) as gone:
        old.projects.list_projects()
    assert "expired" in gone.value.data.error.detail
    with sdk(api, rerolled.key) as new:
        assert new.projects.list_projects().result.data == []
    with db() as session:
        row = session.get(RootKey, rerolled.key_id)
        assert row is not None and (row.name, row.permissions) == (
            "ops",
            ["project.*.read_project"],
        )

    kept = unkey.root_keys.reroll_key(key_id=rerolled.key_id, expiration=None).data
    with sdk(api, rerolled.key) as still:
        still.projects.list_projects()  # null keeps the original valid
    assert kept.key_id != rerolled.key_id

    expiring = unkey.root_keys.create_key(
        permissions=["project.*.read_project"], expires=int(time.time() * 1000) + 60_000
    ).data
    with sdk(api, expiring.key) as client:
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.root_keys.reroll_key(key_id=expiring.key_id, expiration=None)
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.root_keys.create_key(permissions=["project.*.read_project"])
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.root_keys.reroll_key(key_id="rk_missing", expiration=None)
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.root_keys.update_key(key_id="rk_missing", enabled=True)
    assert ROOT_KEY  # the bootstrap key was never shown by any of these answers
