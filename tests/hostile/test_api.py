"""The API fed what no SDK would send: each a clear 4xx in Unkey's error envelope, and
nothing half-applied behind it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Dockyard
from tests.hostile.conftest import PROJECT
from tests.hostile.raw import send_raw

pytestmark = pytest.mark.integration

SHOP = {"project": PROJECT, "app": "shop", "environment": "production"}


def post(yard: Dockyard, operation: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{yard.settings.api_url}/v2/{operation}",
        content=body,
        headers={"Authorization": f"Bearer {yard.root_key}", "Content-Type": "application/json"},
        timeout=30,
    )


def refused(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The error of an answer that must be `status` in Unkey's envelope, saying why."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == status and error["detail"], error
    assert response.json()["meta"]["requestId"].startswith("req_")
    return error


def project_slugs(yard: Dockyard) -> set[str]:
    listed = yard.api("projects.listProjects", {"limit": 100})
    assert listed.status_code == 200, listed.text
    return {project["slug"] for project in listed.json()["data"]}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{", "is not valid JSON"),
        (b'{"name": "Shop", "slug": "half-sent', "is not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'"shop"', "must be a JSON object"),
        (b'{"name": 5, "slug": ["x"]}', "body.name"),
        (b'{"name": "Shop", "slug": "ok-slug", "admin": true}', "is not a known field"),
    ],
)
def test_malformed_or_mistyped_json_is_a_400_saying_what_is_wrong(
    yard: Dockyard, body: bytes, said: str
) -> None:
    error = refused(post(yard, "projects.createProject", body))
    assert said in error["detail"] + json.dumps(error.get("errors", []))
    assert "ok-slug" not in project_slugs(yard)


def test_a_nul_character_is_a_400_naming_the_field_not_a_database_error(yard: Dockyard) -> None:
    body = json.dumps({"name": "Nul\u0000Shop", "slug": "nul-shop"}).encode()
    error = refused(post(yard, "projects.createProject", body))
    assert error["errors"][0]["location"] == "body.name"
    assert "NUL" in error["detail"]
    branch = {"project": PROJECT, "slug": "nul-app", "git": {"defaultBranch": "main\u0000"}}
    refused(post(yard, "apps.createApp", json.dumps(branch).encode()))
    assert "nul-shop" not in project_slugs(yard)


def test_an_oversized_body_is_refused_with_413_and_creates_nothing(yard: Dockyard) -> None:
    body = json.dumps({"name": "x" * 2_000_000, "slug": "huge-shop"}).encode()
    error = refused(post(yard, "projects.createProject", body), 413)
    assert "larger than the 1048576 bytes" in error["detail"]
    # Announced but never sent: the answer comes before the body would.
    head = (
        "POST /v2/projects.createProject HTTP/1.1\r\nHost: api\r\n"
        f"Authorization: Bearer {yard.root_key}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000000\r\n\r\n{"
    )
    answer = send_raw(yard.settings.api_port, head.encode())
    assert answer.status == 413, answer
    assert "huge-shop" not in project_slugs(yard)


@pytest.mark.parametrize(
    "domain",
    [
        "shop.example.com\r\nX-Injected: 1",
        "shop.example.com\r\n",
        "shop.example.com\n",
        "shop.example.com\u0000",
        "shop.example.com%0d%0aX-Injected:%201",
        "shop.example.com\tx",
    ],
)
def test_header_injection_in_a_domain_is_a_400_and_attaches_nothing(
    yard: Dockyard, domain: str
) -> None:
    body = {"project": PROJECT, "app": "default", "environment": "production", "domain": domain}
    error = refused(yard.api("domains.createDomain", body))
    assert error["errors"][0]["location"] == "body.domain"
    listed = yard.api("domains.listDomains", {"project": PROJECT})
    assert listed.status_code == 200, listed.text
    assert [d for d in listed.json()["data"] if "example" in json.dumps(d)] == []


def build_settings(yard: Dockyard) -> dict[str, Any]:
    answer = yard.api("environments.getEnvironment", SHOP)
    assert answer.status_code == 200, answer.text
    build: dict[str, Any] = answer.json()["data"]["build"]
    return build


@pytest.mark.parametrize(
    "change",
    [
        {"dockerfile": "../../etc/passwd"},
        {"dockerfile": "/etc/passwd"},
        {"dockerfile": "docker/../../../Dockerfile"},
        {"dockerfile": "Dockerfile\r\nX-Injected: 1"},
        {"rootDirectory": "../.."},
        {"rootDirectory": "/"},
        {"rootDirectory": "services\\..\\..\\etc"},
        {"rootDirectory": "services", "dockerfile": "../Dockerfile"},
    ],
)
def test_path_traversal_in_build_settings_is_a_400_and_changes_nothing(
    yard: Dockyard, change: dict[str, str]
) -> None:
    before = build_settings(yard)
    error = refused(yard.api("environments.updateSettings", {**SHOP, **change}))
    assert "inside the repository" in error["detail"]
    assert build_settings(yard) == before


def deployment_ids(yard: Dockyard) -> set[str]:
    listed = yard.api("deployments.listDeployments", {"project": PROJECT, "limit": 100})
    assert listed.status_code == 200, listed.text
    return {deployment["id"] for deployment in listed.json()["data"]}


@pytest.mark.parametrize(
    ("git", "where"),
    [
        ({"repository": "../..", "commitSha": "a" * 40}, "body.git.repository"),
        ({"repository": "acme/..", "commitSha": "a" * 40}, "body.git.repository"),
        ({"repository": "acme/../../etc", "commitSha": "a" * 40}, "body.git.repository"),
        ({"branch": "../../etc"}, "body.git.branch"),
        ({"branch": "-upload-pack=touch /tmp/owned"}, "body.git.branch"),
        ({"branch": "--upload-pack=x"}, "body.git.branch"),
        ({"branch": "main\u0000"}, "body.git.branch"),
        ({"branch": "main\r\nX-Injected: 1"}, "body.git.branch"),
    ],
)
def test_traversal_in_a_git_source_is_a_400_and_starts_no_deployment(
    yard: Dockyard, git: dict[str, str], where: str
) -> None:
    before = deployment_ids(yard)
    error = refused(yard.api("deployments.createDeployment", {**SHOP, "git": git}))
    assert error["errors"][0]["location"] == where
    assert deployment_ids(yard) == before


@pytest.mark.parametrize("repository", ["../..", "../shop", "acme/."])
def test_an_app_cannot_be_connected_to_a_path_outside_the_git_host(
    yard: Dockyard, repository: str
) -> None:
    body = {"project": PROJECT, "slug": "escaped", "name": "E", "git": {"repository": repository}}
    error = refused(yard.api("apps.createApp", body))
    assert error["errors"][0]["location"] == "body.git.repository"
    assert yard.api("apps.getApp", {"project": PROJECT, "app": "escaped"}).status_code == 404


@pytest.mark.parametrize(
    "request_head",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: api\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: api\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: api\nX-Bare: a\rb\r\n\r\n",
        b"POST /v2/projects.listProjects HTTP/1.1\r\nHost: api\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_a_malformed_request_is_a_400_and_the_api_keeps_serving(
    yard: Dockyard, request_head: bytes
) -> None:
    answer = send_raw(yard.settings.api_port, request_head)
    assert answer.status == 400 or answer.dropped, answer
    assert yard.api("projects.listProjects", {}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * 100_000 + b"\r\n",
        b"".join(b"X-Many-%d: v\r\n" % n for n in range(5000)),
    ],
)
def test_oversized_request_headers_are_a_431(yard: Dockyard, headers: bytes) -> None:
    head = b"POST /v2/projects.listProjects HTTP/1.1\r\nHost: api\r\n" + headers + b"\r\n"
    answer = send_raw(yard.settings.api_port, head)
    assert answer.status == 431, answer
    assert "larger than 65536 bytes" in json.loads(answer.body)["error"]["detail"]
