"""A newcomer's path: deploy an image with the CLI and reach it on its domains."""

from __future__ import annotations

import docker
import pytest

from tests.e2e.conftest import Dockyard

SHA = "9f2c1a7d3b5e"
LIVE = "shop-acme.localhost"


@pytest.fixture(scope="module")
def shop(dockyard: Dockyard) -> Dockyard:
    created = dockyard.cli("projects", "create", "shop")
    assert created.returncode == 0, created.stderr
    app = dockyard.cli("apps", "create", "default", "--project", "shop")
    assert app.returncode == 0, app.stderr
    return dockyard


def deploy(dockyard: Dockyard, image: str, *args: str):
    return dockyard.cli("deploy", image, "--project", "shop", *args)


def version(dockyard: Dockyard, hostname: str) -> str:
    response = dockyard.through_edge(hostname, "/version.txt")
    assert response.status_code == 200, response.text
    return response.text.strip()


def test_cli_deploy_streams_phases_and_every_domain_serves_the_app(
    shop: Dockyard, demo_images: dict[str, str]
) -> None:
    result = deploy(shop, demo_images["v1"], "--branch", "main", "--commit", SHA)

    assert result.returncode == 0, result.stderr
    for phase in ("deploying", "network", "finalizing", "ready"):
        assert phase in result.stdout
    port = shop.settings.edge_port
    for hostname in (
        f"shop-git-{SHA[:7]}-acme.localhost",
        "shop-git-main-acme.localhost",
        "shop-production-acme.localhost",
        LIVE,
    ):
        assert f"http://{hostname}:{port}/" in result.stdout
        assert version(shop, hostname) == "v1"


def test_second_version_takes_live_while_the_first_stays_warm(
    shop: Dockyard, demo_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    first = deploy(shop, demo_images["v1"], "--commit", "1111111aaaa")
    assert first.returncode == 0, first.stderr
    second = deploy(shop, demo_images["v2"], "--commit", "2222222bbbb")
    assert second.returncode == 0, second.stderr

    assert version(shop, LIVE) == "v2"
    assert version(shop, "shop-git-1111111-acme.localhost") == "v1"
    first_id = first.stdout.split()[1]
    standby = docker_client.containers.list(filters={"label": f"dockyard.deployment={first_id}"})
    assert [c.status for c in standby] == ["running"]


def test_failed_deployment_exits_non_zero_and_live_keeps_serving(
    shop: Dockyard, demo_images: dict[str, str]
) -> None:
    assert deploy(shop, demo_images["v2"]).returncode == 0

    result = deploy(shop, "dockyard/does-not-exist:v9")

    assert result.returncode == 1
    assert "dockyard/does-not-exist:v9" in result.stderr
    assert "failed" in result.stderr
    assert version(shop, LIVE) == "v2"


def test_unknown_host_is_a_clear_404(shop: Dockyard) -> None:
    response = shop.through_edge("nobody-acme.localhost")
    assert response.status_code == 404
    assert "nobody-acme.localhost" in response.text


def test_bad_input_gets_a_sentence_not_a_traceback(shop: Dockyard) -> None:
    unknown = deploy(shop, "dockyard/hello:v1", "--project", "no-such-project")
    assert unknown.returncode == 1
    assert "no-such-project" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    malformed = shop.api(
        "deployments.createDeployment",
        {
            "project": "shop",
            "app": "default",
            "environment": "production",
            "image": {"dockerImage": "UPPER CASE/not an image"},
        },
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["detail"]

    assert shop.api("projects.listProjects", {}, root_key="").status_code == 401
    assert shop.api("projects.listProjects", {}, root_key="dy_root_wrong").status_code == 401
    no_key = shop.cli("projects", "list", root_key="")
    assert no_key.returncode == 1
    assert "root key" in no_key.stderr


def test_the_first_request_after_ready_is_served_on_a_brand_new_environment(
    dockyard: Dockyard, demo_images: dict[str, str]
) -> None:
    """`ready` waits until the edge and every replica of the environment route the new
    domains: the request right after it is the app's answer, never a 404."""
    for n in range(3):
        project = f"fresh{n}"
        assert dockyard.cli("projects", "create", project).returncode == 0
        assert dockyard.cli("apps", "create", "default", "--project", project).returncode == 0
        deployed = dockyard.cli("deploy", demo_images["v1"], "--project", project)
        assert deployed.returncode == 0, deployed.stderr
        response = dockyard.through_edge(f"{project}-acme.localhost", "/version.txt")
        assert (response.status_code, response.text.strip()) == (200, "v1")
