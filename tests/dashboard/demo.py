"""The demo data the dashboard tests (and its page-time measurements) run on, made through
the same /v2 API as everything else: the demo app live in production at v2 with v1 on
standby, a preview deployment, variables, a keyspace with keys, a custom domain and a
Sentinel policy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.e2e.conftest import Dockyard

PROJECT = "demo"
APP = "default"
FINAL = frozenset({"ready", "failed", "skipped", "superseded", "cancelled", "stopped"})
COMMITS = {
    "v1": ("3f9c2a1b7e4d", "Serve the hello page from busybox httpd"),
    "v2": ("8b1e5d0c9a27", "Say which version answers on /version.txt"),
}


@dataclass(frozen=True)
class Demo:
    first: str  # production deployment of v1, on standby
    second: str  # production deployment of v2, live
    preview: str
    keyspace: str
    key_id: str


def call(dockyard: Dockyard, operation: str, body: dict[str, Any]) -> Any:
    response = dockyard.api(operation, body)
    assert response.status_code < 300, f"{operation}: {response.status_code} {response.text}"
    return response.json().get("data")


def wait_final(dockyard: Dockyard, deployment_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        deployment: dict[str, Any] = call(
            dockyard, "deployments.getDeployment", {"deploymentId": deployment_id}
        )
        if deployment["status"] in FINAL:
            return deployment
        assert time.monotonic() < deadline, f"{deployment_id} still {deployment['status']}"
        time.sleep(0.3)


def deploy(
    dockyard: Dockyard, image: str, version: str, *, environment: str, branch: str = "main"
) -> str:
    sha, message = COMMITS[version]
    created = call(
        dockyard,
        "deployments.createDeployment",
        {
            "project": PROJECT,
            "app": APP,
            "environment": environment,
            "image": {"dockerImage": image},
            "git": {"branch": branch, "commitSha": sha, "commitMessage": message},
        },
    )
    deployment = wait_final(dockyard, created["deploymentId"])
    assert deployment["status"] == "ready", deployment
    return str(deployment["id"])


def seed(dockyard: Dockyard, images: dict[str, str]) -> Demo:
    call(dockyard, "projects.createProject", {"slug": PROJECT, "name": "Demo"})
    call(dockyard, "apps.createApp", {"project": PROJECT, "slug": APP, "name": "Hello"})
    scope = {"project": PROJECT, "app": APP, "environment": "production"}
    call(
        dockyard,
        "environments.updateSettings",
        {**scope, "port": 8080, "healthcheck": {"method": "GET", "path": "/healthz"}},
    )
    call(
        dockyard,
        "environments.setEnvironmentVariables",
        {
            **scope,
            "variables": [
                {"key": "GREETING", "value": "hello", "kind": "recoverable"},
                {"key": "DATABASE_URL", "value": "postgres://demo:secret@db/demo"},
            ],
        },
    )
    first = deploy(dockyard, images["v1"], "v1", environment="production")
    second = deploy(dockyard, images["v2"], "v2", environment="production")
    preview = deploy(dockyard, images["v2"], "v2", environment="preview", branch="feature-x")
    keyspace = call(dockyard, "apis.createApi", {"name": "Demo API"})["apiId"]
    key = call(
        dockyard,
        "keys.createKey",
        {
            "apiId": keyspace,
            "name": "Acme Inc.",
            "prefix": "demo",
            "credits": {"remaining": 1000},
            "ratelimits": [{"name": "requests", "limit": 100, "duration": 60000}],
        },
    )
    call(dockyard, "keys.createKey", {"apiId": keyspace, "name": "Internal dashboard"})
    call(dockyard, "domains.createDomain", {**scope, "domain": "hello.example.com"})
    call(
        dockyard,
        "gateway.setPolicies",
        {
            **scope,
            "policies": [
                {
                    "name": "Rate limit per IP",
                    "enabled": True,
                    "ratelimit": {
                        "limit": 600,
                        "windowMs": 60000,
                        "identifiers": [{"remoteIp": {}}],
                    },
                }
            ],
        },
    )
    return Demo(first=first, second=second, preview=preview, keyspace=keyspace, key_id=key["keyId"])
