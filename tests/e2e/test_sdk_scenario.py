"""A team already on Unkey: its official SDK alone drives dockyard from nothing to a live app."""

from __future__ import annotations

import time

import pytest
from unkey.py import Unkey

from tests.e2e.conftest import Dockyard

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
READY_TIMEOUT_SECONDS = 120
# The demo image serves /www; writing the environment there shows what the container got.
COMMAND = ["sh", "-c", "env > /www/env.txt; exec httpd -f -p 8080 -h /www"]


def wait_until_settled(unkey: Unkey, deployment_id: str):
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        deployment = unkey.deployments.get_deployment(deployment_id=deployment_id).data
        if deployment.status.value in ("ready", "failed") or time.monotonic() > deadline:
            return deployment
        time.sleep(0.5)


def test_sdk_alone_takes_an_image_live_with_its_variables(
    dockyard: Dockyard, demo_images: dict[str, str]
) -> None:
    with Unkey(server_url=dockyard.settings.api_url, root_key=dockyard.root_key) as unkey:
        unkey.projects.create_project(name="Scenario", slug="scenario")
        unkey.apps.create_app(
            request={"project": "scenario", "name": "Web", "slug": "web", "git": {}}
        )
        where = {"project": "scenario", "app": "web", "environment": "production"}
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
