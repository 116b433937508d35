"""environments.set/list/removeEnvironmentVariables: sealed at rest, writeonly never shown."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.crypto import SecretBox
from dockyard.models import EnvironmentVariable, Workspace
from tests.api.conftest import RunningApi, Shop, assert_error

SECRET = "postgres://app:s3cr3t-value@db/app"
WHERE = {"project": "shop", "app": "web", "environment": "production"}


def listed(unkey: Unkey, **kwargs) -> dict[str, object]:
    page = unkey.environments.list_environment_variables(**WHERE, **kwargs)
    return {variable.key: variable for variable in page.data}


def test_set_list_remove(unkey: Unkey, shop: Shop, api: RunningApi, db, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    unkey.environments.set_environment_variables(
        **WHERE,
        variables=[
            {"key": "DATABASE_URL", "value": SECRET},
            {
                "key": "LOG_LEVEL",
                "value": "debug",
                "kind": "recoverable",
                "description": "verbosity",
            },
        ],
    )
    found = listed(unkey)
    assert list(found) == ["DATABASE_URL", "LOG_LEVEL"]
    database_url, log_level = found["DATABASE_URL"], found["LOG_LEVEL"]
    assert (database_url.kind.value, database_url.value) == ("writeonly", None)
    assert (log_level.kind.value, log_level.value, log_level.description) == (
        "recoverable",
        "debug",
        "verbosity",
    )
    with db() as session:
        rows = {row.key: row for row in session.scalars(select(EnvironmentVariable))}
    assert SECRET.encode() not in rows["DATABASE_URL"].value_encrypted
    box = SecretBox(api.settings.secret_key)
    assert box.open(rows["DATABASE_URL"].value_encrypted).decode() == SECRET

    # Upsert: written exactly as sent (the description goes), the rest untouched.
    unkey.environments.set_environment_variables(
        **WHERE, variables=[{"key": "LOG_LEVEL", "value": "info", "kind": "recoverable"}]
    )
    found = listed(unkey)
    assert found["LOG_LEVEL"].value == "info" and found["LOG_LEVEL"].description is None
    assert "DATABASE_URL" in found

    first = unkey.environments.list_environment_variables(**WHERE, limit=1)
    assert first.pagination.has_more
    assert [v.key for v in first.data] == ["DATABASE_URL"]

    unkey.environments.remove_environment_variables(
        **WHERE, variables=["LOG_LEVEL", "LOG_LEVEL", "NEVER_SET"]
    )
    assert list(listed(unkey)) == ["DATABASE_URL"]
    unkey.environments.set_environment_variables(
        **WHERE, variables=[{"key": "ONLY", "value": "1"}], prune=True
    )
    assert list(listed(unkey)) == ["ONLY"]
    unkey.environments.set_environment_variables(**WHERE, variables=[], prune=True)
    assert listed(unkey) == {}
    assert SECRET not in caplog.text


def test_bad_input_changes_nothing_and_never_echoes_values(unkey: Unkey, shop: Shop, http) -> None:
    unkey.environments.set_environment_variables(**WHERE, variables=[{"key": "A", "value": "1"}])
    cases = [
        [{"key": "A", "value": "2"}, {"key": "A", "value": "3"}],  # duplicate key
        [{"key": "B", "value": "2"}, {"key": "1BAD", "value": SECRET}],  # not a shell name
        [{"key": "B", "value": "x" * 16385}],  # too long
        [{"key": "B", "value": ""}],  # empty
    ]
    for variables in cases:
        response = http.post(
            "/v2/environments.setEnvironmentVariables", json={**WHERE, "variables": variables}
        )
        assert_error(response, 400)
        assert SECRET not in response.text and "x" * 100 not in response.text
    assert list(listed(unkey)) == ["A"]
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.environments.remove_environment_variables(**WHERE, variables=[])
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.environments.set_environment_variables(
            project="shop", app="web", environment="staging", variables=[]
        )


def test_each_operation_needs_its_permission(unkey: Unkey, shop: Shop, api: RunningApi, db) -> None:
    environment_id = unkey.environments.get_environment(**WHERE).data.id
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, writer = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[f"environment.{environment_id}.set_environment_variables"],
        )
    with Unkey(server_url=api.url, root_key=writer) as client:
        client.environments.set_environment_variables(
            **WHERE, variables=[{"key": "TOKEN", "value": "t", "kind": "recoverable"}]
        )
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.environments.list_environment_variables(**WHERE)
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.environments.remove_environment_variables(**WHERE, variables=["TOKEN"])
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.environments.set_environment_variables(
                project="shop", app="web", environment="preview", variables=[]
            )
    with (
        Unkey(server_url=api.url, root_key="dy_root_nobody") as nobody,
        pytest.raises(errors.UnauthorizedErrorResponse),
    ):
        nobody.environments.list_environment_variables(**WHERE)
