"""A team already on Unkey: its official SDK alone drives dockyard from nothing to a live app."""

from __future__ import annotations

import time

import docker
import pytest
from unkey.py import Unkey, errors

from tests.e2e.conftest import Dockyard

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
READY_TIMEOUT_SECONDS = 120
TEARDOWN_TIMEOUT_SECONDS = 60
# The demo image serves /www; writing the environment there shows what the container got.
COMMAND = ["sh", "-c", "env > /www/env.txt; exec httpd -f -p 8080 -h /www"]


def wait_until_settled(unkey: Unkey, deployment_id: str):
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        deployment = unkey.deployments.get_deployment(deployment_id=deployment_id).data
        if deployment.status.value in ("ready", "failed") or time.monotonic() > deadline:
            return deployment
        time.sleep(0.5)


def web_app(unkey: Unkey, *, name: str, slug: str) -> dict[str, str]:
    """A project with an app `web` that takes images; where its production environment is."""
    unkey.projects.create_project(name=name, slug=slug)
    unkey.apps.create_app(request={"project": slug, "name": "Web", "slug": "web", "git": {}})
    return {"project": slug, "app": "web", "environment": "production"}


def test_sdk_alone_takes_an_image_live_with_its_variables(
    dockyard: Dockyard, demo_images: dict[str, str]
) -> None:
    with Unkey(server_url=dockyard.settings.api_url, root_key=dockyard.root_key) as unkey:
        where = web_app(unkey, name="Scenario", slug="scenario")
        production = unkey.environments.get_environment(**where).data
        assert production.kind.value == "production"

        dockyard.secrets.update({"tok_s3cret"})
        unkey.environments.set_environment_variables(
            **where,
            variables=[
                {"key": "GREETING", "value": "hello from dockyard", "kind": "recoverable"},
                {"key": "API_TOKEN", "value": "tok_s3cret"},
            ],
        )
        unkey.environments.update_settings(**where, command=COMMAND)
        created = unkey.deployments.create_deployment(
            request={**where, "image": {"docker_image": demo_images["v1"]}}
        )

        deployment = wait_until_settled(unkey, created.data.deployment_id)
        assert deployment.status.value == "ready", deployment.error
        assert deployment.is_current and deployment.runtime.command == COMMAND
        live = "scenario-web-acme.localhost"
        assert deployment.domains is not None and deployment.domains[0] == live
        app = unkey.apps.get_app(project="scenario", app="web").data
        assert app.current_deployment_id == deployment.id

    for hostname in deployment.domains:
        response = dockyard.through_edge(hostname, "/env.txt")
        assert response.status_code == 200, (hostname, response.text)
        lines = set(response.text.splitlines())
        assert {"GREETING=hello from dockyard", "API_TOKEN=tok_s3cret"} <= lines


def test_sdk_sets_what_a_role_grants(dockyard: Dockyard) -> None:
    with Unkey(server_url=dockyard.settings.api_url, root_key=dockyard.root_key) as unkey:
        api_id = unkey.apis.create_api(name="scenario-docs").data.api_id
        role_id = unkey.permissions.create_role(name="scenario-editor").data.role_id
        key = unkey.keys.create_key(api_id=api_id, roles=["scenario-editor"]).data
        held = unkey.permissions.set_role_permissions(
            request={"role": role_id, "permissions": ["scenario.write", "scenario.read"]}
        ).data
        assert [p.slug for p in held] == ["scenario.read", "scenario.write"]
        verified = unkey.keys.verify_key(key=key.key, permissions="scenario.write").data
        assert verified.valid
        unkey.permissions.set_role_permissions(request={"role": role_id, "permissions": []})
        verified = unkey.keys.verify_key(key=key.key, permissions="scenario.write").data
        assert verified.code.value == "INSUFFICIENT_PERMISSIONS"


def test_sdk_deletes_a_project_with_a_live_deployment(
    dockyard: Dockyard, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    with Unkey(server_url=dockyard.settings.api_url, root_key=dockyard.root_key) as unkey:
        where = web_app(unkey, name="Doomed", slug="doomed")
        created = unkey.deployments.create_deployment(
            request={**where, "image": {"docker_image": demo_images["v1"]}}
        )
        deployment = wait_until_settled(unkey, created.data.deployment_id)
        assert deployment.status.value == "ready", deployment.error
        assert deployment.domains
        for hostname in deployment.domains:
            assert dockyard.through_edge(hostname).status_code == 200, hostname

        unkey.projects.delete_project(project="doomed")
        unkey.projects.delete_project(project="doomed")  # a retry joins the same teardown
        deadline = time.monotonic() + TEARDOWN_TIMEOUT_SECONDS
        while True:
            try:
                unkey.projects.get_project(project="doomed")
            except errors.NotFoundErrorResponse:
                break
            assert time.monotonic() < deadline, "the project was not deleted"
            time.sleep(0.5)

    label = f"dockyard.deployment={deployment.id}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    for hostname in deployment.domains:
        deadline = time.monotonic() + TEARDOWN_TIMEOUT_SECONDS
        while dockyard.through_edge(hostname).status_code == 200:
            assert time.monotonic() < deadline, f"{hostname} still serves"
            time.sleep(0.2)
