"""dashboard.reads: the keyspace list Unkey's v2 API lacks, under the caller's rights."""

from __future__ import annotations

import httpx

from tests.dashboard.demo import Demo, call
from tests.e2e.conftest import Dockyard


def keyspaces(dockyard: Dockyard, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(
        f"{dockyard.settings.api_url}/dashboard/api/keyspaces", headers=headers, timeout=10
    )


def root_key(dockyard: Dockyard, *permissions: str) -> str:
    created = call(
        dockyard, "rootKeys.createKey", {"name": "reads", "permissions": list(permissions)}
    )
    return str(created["key"])


def test_keyspaces_are_listed_with_their_key_counts(dockyard: Dockyard, demo: Demo) -> None:
    answer = keyspaces(dockyard, dockyard.root_key)

    assert answer.status_code == 200
    listed = {item["id"]: item for item in answer.json()["data"]}
    assert listed[demo.keyspace]["name"] == "Demo API"
    assert listed[demo.keyspace]["keys"] >= 2
    assert set(listed[demo.keyspace]) == {"id", "name", "createdAt", "keys"}


def test_a_key_sees_only_the_keyspaces_it_may_read(dockyard: Dockyard, demo: Demo) -> None:
    other = call(dockyard, "apis.createApi", {"name": "Other API"})["apiId"]
    one = root_key(dockyard, f"api.{demo.keyspace}.read_api")
    none = root_key(dockyard, "project.*.read_project")

    assert [item["id"] for item in keyspaces(dockyard, one).json()["data"]] == [demo.keyspace]
    assert keyspaces(dockyard, none).json()["data"] == []
    assert other in [item["id"] for item in keyspaces(dockyard, dockyard.root_key).json()["data"]]


def test_without_a_key_the_answer_is_unkeys_401(dockyard: Dockyard) -> None:
    answer = keyspaces(dockyard, None)

    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "unauthorized"
