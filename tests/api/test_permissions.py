"""permissions.setRolePermissions through Unkey's own SDK: the role holds exactly the set
given, keys holding the role follow at once, and each refusal changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from unkey.py import Unkey, errors, models

from dockyard.bootstrap import create_root_key
from dockyard.models import Workspace
from tests.api.conftest import RunningApi, assert_error


def set_role(client: Unkey, role: str, permissions: list[str]) -> list[models.Permission]:
    return client.permissions.set_role_permissions(
        request={"role": role, "permissions": permissions}
    ).data


def test_set_role_permissions_replaces_what_the_role_grants(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="docs").data.api_id
    unkey.permissions.create_permission(name="read", slug="documents.read")
    unkey.permissions.create_permission(name="write", slug="documents.write")
    role_id = unkey.permissions.create_role(name="editor", permissions=["documents.read"])
    role_id = role_id.data.role_id
    key = unkey.keys.create_key(api_id=api_id, roles=["editor"]).data

    def allowed(permission: str) -> bool:
        return unkey.keys.verify_key(key=key.key, permissions=permission).data.valid

    assert allowed("documents.read") and not allowed("documents.write")

    held = set_role(unkey, role_id, ["documents.write", "reports.read", "reports.read"])
    # A missing slug is created, as the root key may create permissions; duplicates collapse.
    assert [p.slug for p in held] == ["documents.write", "reports.read"]
    assert not allowed("documents.read")
    assert allowed("documents.write") and allowed("reports.read")
    role = unkey.permissions.get_role(role=role_id).data
    assert [p.slug for p in role.permissions or []] == ["documents.write", "reports.read"]

    # By name, in another order: the same set.
    again = set_role(unkey, "editor", ["reports.read", "documents.write"])
    assert [p.id for p in again] == [p.id for p in held]

    assert set_role(unkey, role_id, []) == []
    assert not allowed("documents.write") and not allowed("reports.read")
    # Clearing a role deletes none of the permissions it held.
    assert unkey.permissions.get_permission(permission="reports.read").data.slug == "reports.read"


def test_set_role_permissions_needs_add_and_remove(unkey: Unkey, api: RunningApi, db: Any) -> None:
    unkey.permissions.create_permission(name="read", slug="documents.read")
    role_id = unkey.permissions.create_role(name="viewer").data.role_id
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, adder = create_root_key(
            session, workspace_id=workspace_id, permissions=["rbac.*.add_permission_to_role"]
        )
        _, setter = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=["rbac.*.add_permission_to_role", "rbac.*.remove_permission_from_role"],
        )
    with Unkey(server_url=api.url, root_key=adder) as client:
        with pytest.raises(errors.ForbiddenErrorResponse) as refused:
            set_role(client, role_id, [])
        assert "remove_permission_from_role" in refused.value.data.error.detail
    with Unkey(server_url=api.url, root_key=setter) as client:
        held = set_role(client, role_id, ["documents.read"])
        assert [p.slug for p in held] == ["documents.read"]
        # A slug the workspace lacks needs the right to create permissions: nothing changes.
        with pytest.raises(errors.ForbiddenErrorResponse) as refused:
            set_role(client, role_id, ["documents.delete"])
        assert "create_permission" in refused.value.data.error.detail
        with pytest.raises(errors.NotFoundErrorResponse):
            set_role(client, "role_nope", [])
    role = unkey.permissions.get_role(role=role_id).data
    assert [p.slug for p in role.permissions or []] == ["documents.read"]
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.permissions.get_permission(permission="documents.delete")


def test_sdks_that_predate_role_send_role_id(unkey: Unkey, http: httpx.Client) -> None:
    role_id = unkey.permissions.create_role(name="viewer").data.role_id
    answer = http.post(
        "/v2/permissions.setRolePermissions",
        json={"roleId": role_id, "permissions": ["documents.read"]},
    )
    assert answer.status_code == 200, answer.text
    assert [p["slug"] for p in answer.json()["data"]] == ["documents.read"]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"permissions": []}, "body"),
        ({"role": "role_x", "roleId": "role_y", "permissions": []}, "body"),
        ({"role": "role_x"}, "permissions"),
        ({"role": "role_x", "permissions": ["no spaces"]}, "permissions"),
        ({"role": "", "permissions": []}, "role"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], location: str
) -> None:
    error = assert_error(http.post("/v2/permissions.setRolePermissions", json=body), 400)
    assert any(location in item["location"] for item in error["errors"]), error
