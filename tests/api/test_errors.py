"""Unkey's error envelope for everything a caller can get wrong, as raw HTTP sees it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from unkey.py import Unkey, errors

from api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    Unauthorized,
    install_error_handlers,
)
from dockyard.bootstrap import create_root_key
from dockyard.models import Project, Workspace
from tests.api.conftest import RunningApi, assert_error

CREATE = "/v2/projects.createProject"
BODY = {"name": "Shop", "slug": "shop"}


def count_projects(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Project)) or 0


def test_missing_or_wrong_root_key_is_a_401(api: RunningApi, db) -> None:
    with api.http(root_key=None) as anonymous:
        assert_error(anonymous.post(CREATE, json=BODY), 401, detail_has="header is missing")
        malformed = anonymous.post(CREATE, json=BODY, headers={"Authorization": "Basic abc"})
        assert_error(malformed, 401, detail_has="`Bearer <root key>`")
    with api.http(root_key="dy_root_not-a-key") as wrong:
        assert_error(wrong.post(CREATE, json=BODY), 401, detail_has="root key is not valid")
    assert count_projects(db) == 0


def test_sdk_sees_401_as_unauthorized(api: RunningApi) -> None:
    with (
        Unkey(server_url=api.url, root_key="dy_root_wrong") as sdk,
        pytest.raises(errors.UnauthorizedErrorResponse) as unauthorized,
    ):
        sdk.projects.list_projects()
    assert "not valid" in unauthorized.value.data.error.detail


def test_missing_permission_is_a_403(api: RunningApi, db) -> None:
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, reader = create_root_key(
            session, workspace_id=workspace_id, permissions=["project.*.read_project"]
        )
    with api.http(root_key=reader) as client:
        assert client.post("/v2/projects.listProjects", json={}).status_code == 200
        error = assert_error(client.post(CREATE, json=BODY), 403)
        assert "'project.*.create_project'" in error["detail"]
    assert count_projects(db) == 0


def test_malformed_json_is_a_400(http, db) -> None:
    response = http.post(
        CREATE, content=b'{"name": "Shop",', headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 400, detail_has="not valid JSON")
    assert error["errors"][0]["location"] == "body"
    assert count_projects(db) == 0


@pytest.mark.parametrize(
    ("content", "headers", "detail"),
    [
        (b"", {"Content-Type": "application/json"}, "A JSON request body is required"),
        (b'{"name": "Shop"}', {"Content-Type": "text/plain"}, "Content-Type: application/json"),
        (b"[1, 2]", {"Content-Type": "application/json"}, "must be a JSON object"),
    ],
)
def test_body_that_is_not_a_json_object_is_a_400(http, content, headers, detail) -> None:
    assert_error(http.post(CREATE, content=content, headers=headers), 400, detail_has=detail)


def test_field_errors_name_each_field(http, db) -> None:
    response = http.post(CREATE, json={"slug": "ab", "colour": "blue"})
    error = assert_error(response, 400)
    found = {item["location"]: item for item in error["errors"]}
    assert set(found) == {"body.name", "body.slug", "body.colour"}
    assert found["body.name"]["message"] == "is required"
    assert found["body.colour"]["message"] == "is not a known field"
    assert "(and 2 more problems)" in error["detail"]
    assert count_projects(db) == 0


def test_unknown_operation_and_wrong_method(http) -> None:
    assert_error(http.post("/v2/projects.explode", json={}), 404, detail_has="no operation")
    assert_error(http.get("/v2/projects.listProjects"), 405, detail_has="every operation is a POST")


async def test_a_bug_is_a_500_in_unkeys_shape_without_internals() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/v2/things.explode")
    def explode() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.post("/v2/things.explode")
    error = assert_error(response, 500, detail_has="logged under this request id")
    assert "secret" not in response.text
    assert error["type"] == "internal-server-error"


@pytest.mark.parametrize(
    ("error", "title", "kind"),
    [
        (ApiError, "Internal Server Error", "internal-server-error"),
        (BadRequest, "Bad Request", "validation-error"),
        (Unauthorized, "Unauthorized", "unauthorized"),
        (Forbidden, "Forbidden", "forbidden"),
        (NotFound, "Not Found", "not-found"),
        (MethodNotAllowed, "Method Not Allowed", "method-not-allowed"),
        (Conflict, "Conflict", "conflict"),
        (PreconditionFailed, "Precondition Failed", "precondition-failed"),
        (PayloadTooLarge, "Payload Too Large", "payload-too-large"),
        (ServiceUnavailable, "Service Unavailable", "service-unavailable"),
    ],
)
def test_error_titles_are_unkeys(error: type[ApiError], title: str, kind: str) -> None:
    raised = error("detail")
    assert (raised.title, raised.type) == (title, kind)
