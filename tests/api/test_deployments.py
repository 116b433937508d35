"""deployments.*: the row, its workflows in a real Temporal, and Unkey's Deployment shape."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowExecutionStatus
from unkey.py import Unkey, errors, models

from dockyard import search_attributes
from dockyard.ids import new_id
from dockyard.models import Deployment, DeploymentStep, Domain, Environment, Project
from tests.api.conftest import RunningApi, Shop, assert_error

# Unkey's SDK flags `image.dockerImage` as deprecated (its v3 API renames it); v2 has it.
pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")

IMAGE = "dockyard/hello:v1"
SHA = "0123456789abcdef0123456789abcdef01234567"


def deploy(
    unkey: Unkey,
    environment: str = "production",
    git: models.DeploymentSourceGitTypedDict | None = None,
) -> str:
    request: models.V2DeploymentsCreateDeploymentRequestBody1TypedDict = {
        "project": "shop",
        "app": "web",
        "environment": environment,
        "image": {"docker_image": IMAGE},
    }
    if git is not None:
        request["git"] = git
    return unkey.deployments.create_deployment(request=request).data.deployment_id


def count_deployments(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Deployment)) or 0


async def test_create_deployment_starts_its_workflows(
    unkey: Unkey, shop: Shop, api: RunningApi, db, temporal_client: Client
) -> None:
    request: models.V2DeploymentsCreateDeploymentRequestBody1TypedDict = {
        "project": "shop",
        "app": "web",
        "environment": "production",
        "image": {"docker_image": IMAGE},
        "git": {"branch": "feature/login", "commit_sha": SHA},
    }
    created = unkey.deployments.create_deployment(
        request=request, http_headers={"X-Dockyard-Trigger": "cli"}
    )
    deployment_id = created.data.deployment_id
    assert deployment_id.startswith("d_")

    with db() as session:
        row = session.get(Deployment, deployment_id)
        assert row is not None
        assert (row.status, row.source, row.image, row.trigger) == (
            "pending",
            "image",
            IMAGE,
            "cli",
        )
        assert (row.git_branch, row.git_commit_sha) == ("feature/login", SHA)
        environment_id = row.environment_id

    handle = temporal_client.get_workflow_handle(f"deploy-{deployment_id}")
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.task_queue == f"{api.settings.task_queue_prefix}-control"
    found = described.typed_search_attributes
    assert found.get(search_attributes.PROJECT) == "shop"
    assert found.get(search_attributes.APP) == "web"
    assert found.get(search_attributes.ENVIRONMENT) == "production"
    assert found.get(search_attributes.STATUS) == "pending"
    assert found.get(search_attributes.TRIGGER) == "cli"
    assert found.get(search_attributes.BRANCH) == "feature/login"
    assert found.get(search_attributes.SHA) == SHA
    environment_workflow = await temporal_client.get_workflow_handle(
        f"env-{environment_id}"
    ).describe()
    assert environment_workflow.status == WorkflowExecutionStatus.RUNNING


def test_get_deployment_in_unkeys_shape(unkey: Unkey, shop: Shop, http) -> None:
    deployment_id = deploy(unkey, git={"branch": "main", "commit_sha": SHA[:7]})
    deployment = unkey.deployments.get_deployment(deployment_id=deployment_id).data
    assert (deployment.id, deployment.status.value) == (deployment_id, "pending")
    assert (deployment.project, deployment.app, deployment.environment) == (
        "shop",
        "web",
        "production",
    )
    assert deployment.is_current is False
    assert deployment.trigger.via.value == "api"
    assert deployment.available_actions == []
    assert deployment.regions == ["local"]
    assert deployment.runtime.port == 8080 and deployment.runtime.memory_mib == 256
    assert deployment.docker is not None and deployment.docker.image == IMAGE
    assert deployment.git is not None
    assert (deployment.git.commit_sha, deployment.git.branch) == (SHA[:7], "main")
    assert deployment.error is None and deployment.finished_at is None
    assert deployment.domains == []

    raw = http.post("/v2/deployments.getDeployment", json={"deploymentId": deployment_id})
    assert raw.json()["data"]["steps"] == []


def test_steps_domains_and_status_as_the_workflow_records_them(
    unkey: Unkey, shop: Shop, http, db
) -> None:
    deployment_id = deploy(unkey)
    with db() as session, session.begin():
        row = session.get(Deployment, deployment_id)
        assert row is not None
        row.status = "queued"  # dockyard's own status: Unkey's SDK only knows `pending`
        session.add_all(
            [
                DeploymentStep(
                    deployment_id=deployment_id,
                    name="queued",
                    status="completed",
                    started_at=1000,
                    finished_at=1500,
                ),
                DeploymentStep(
                    deployment_id=deployment_id,
                    name="deploying",
                    status="running",
                    message="starting 1 instance in local",
                    started_at=1600,
                ),
            ]
        )
        for kind, host in (
            ("deployment", "shop-dep-x-acme.localhost"),
            ("live", "shop-acme.localhost"),
        ):
            session.add(
                Domain(
                    id=new_id("domain"),
                    hostname=host,
                    kind=kind,
                    workspace_id=_workspace_id(session),
                    project_id=row.project_id,
                    app_id=row.app_id,
                    environment_id=row.environment_id,
                    deployment_id=deployment_id,
                )
            )

    # Unkey's SDK parses the response although it carries dockyard's `steps`.
    deployment = unkey.deployments.get_deployment(deployment_id=deployment_id).data
    assert deployment.status.value == "pending"
    assert deployment.domains == ["shop-acme.localhost", "shop-dep-x-acme.localhost"]

    steps = http.post("/v2/deployments.getDeployment", json={"deploymentId": deployment_id}).json()[
        "data"
    ]["steps"]
    assert steps == [
        {"name": "queued", "status": "completed", "startedAt": 1000, "finishedAt": 1500},
        {
            "name": "deploying",
            "status": "running",
            "message": "starting 1 instance in local",
            "startedAt": 1600,
        },
    ]


def test_failure_codes_map_to_unkeys_enum_keeping_the_detail(unkey: Unkey, shop: Shop, db) -> None:
    deployment_id = deploy(unkey)
    with db() as session, session.begin():
        session.execute(
            update(Deployment)
            .where(Deployment.id == deployment_id)
            .values(
                status="failed",
                error_code="image_not_found",
                error_step="deploying",
                error_message="image dockyard/hello:v1 was not found",
                finished_at=2000,
            )
        )
    deployment = unkey.deployments.get_deployment(deployment_id=deployment_id).data
    assert deployment.status.value == "failed" and deployment.finished_at == 2000
    assert deployment.error is not None
    assert deployment.error.code.value == "unknown"
    assert deployment.error.step == "deploying"
    assert deployment.error.message == "image_not_found: image dockyard/hello:v1 was not found"


def test_current_deployment_and_rerun(unkey: Unkey, shop: Shop, db) -> None:
    first = deploy(unkey, git={"branch": "main", "commit_sha": SHA})
    rerun_request: models.V2DeploymentsCreateDeploymentRequestBody3TypedDict = {
        "project": "shop",
        "app": "web",
        "environment": "production",
        "deployment": {"deployment_id": first},
    }
    rerun = unkey.deployments.create_deployment(request=rerun_request).data.deployment_id
    with db() as session, session.begin():
        session.execute(update(Deployment).values(status="ready"))
        session.execute(
            update(Environment)
            .where(Environment.slug == "production")
            .values(current_deployment_id=rerun)
        )
    current = unkey.deployments.get_deployment(deployment_id=rerun).data
    assert current.is_current is True and current.available_actions == []
    assert current.docker is not None and current.docker.image == IMAGE
    assert current.git is not None and current.git.commit_sha == SHA
    earlier = unkey.deployments.get_deployment(deployment_id=first).data
    assert earlier.is_current is False
    assert [action.value for action in earlier.available_actions] == ["promote", "rollback"]
    app = unkey.apps.get_app(project="shop", app="web").data
    assert app.current_deployment_id == rerun


def test_list_deployments_newest_first_with_filters(unkey: Unkey, shop: Shop) -> None:
    production = [deploy(unkey) for _ in range(3)]
    preview = deploy(unkey, "preview", git={"branch": "feature-x", "commit_sha": SHA})

    listed: list[str] = []
    response = unkey.deployments.list_deployments(project="shop", limit=2)
    while response is not None:
        listed.extend(deployment.id for deployment in response.result.data)
        response = response.next()
    assert listed == [preview, *reversed(production)]

    in_preview = unkey.deployments.list_deployments(
        project="shop", app="web", environment="preview"
    )
    assert in_preview is not None
    assert [d.id for d in in_preview.result.data] == [preview]
    by_branch = unkey.deployments.list_deployments(project="shop", app="web", branch=["feature-x"])
    assert by_branch is not None and [d.id for d in by_branch.result.data] == [preview]
    failed = unkey.deployments.list_deployments(status=[models.DeploymentStatus.FAILED])
    assert failed is not None and failed.result.data == []

    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.deployments.list_deployments(project="shop", app="nope")
    assert missing.value.data.error.detail == "App 'nope' does not exist in this workspace."


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ({"image": {"dockerImage": "Dockyard/Hello:v1"}}, "body.image.dockerImage", "lowercase"),
        ({"image": {"dockerImage": "hello:"}}, "body.image.dockerImage", "tag '' is not valid"),
        ({"image": {"dockerImage": "hello@sha256:abc"}}, "body.image.dockerImage", "digest"),
        ({"image": {"dockerImage": "hello world"}}, "body.image.dockerImage", "whitespace"),
        ({"git": {"branch": "main"}}, "body.git", "no git repository connected"),
        (
            {"image": {"dockerImage": IMAGE}, "deployment": {"deploymentId": "d_123"}},
            "body",
            "exactly one source",
        ),
        ({}, "body", "exactly one source"),
        ({"image": {"dockerImage": IMAGE}, "trigger": "cron"}, "body.trigger", "'api'"),
    ],
)
def test_bad_deployment_requests_are_400s_that_write_nothing(
    http, shop: Shop, db, body: dict[str, Any], location: str, message: str
) -> None:
    request = {"project": "shop", "app": "web", "environment": "production", **body}
    error = assert_error(http.post("/v2/deployments.createDeployment", json=request), 400)
    assert error["errors"][0]["location"] == location
    assert message in error["errors"][0]["message"]
    assert count_deployments(db) == 0


def test_unknown_resources_are_404s_that_write_nothing(http, shop: Shop, db) -> None:
    image = {"dockerImage": IMAGE}
    for target, detail in [
        ({"project": "nope", "app": "web", "environment": "production"}, "Project 'nope'"),
        ({"project": "shop", "app": "nope", "environment": "production"}, "App 'nope'"),
        ({"project": "shop", "app": "web", "environment": "nope"}, "Environment 'nope'"),
    ]:
        response = http.post("/v2/deployments.createDeployment", json={**target, "image": image})
        assert_error(response, 404, detail_has=detail)
    rerun = http.post(
        "/v2/deployments.createDeployment",
        json={
            "project": "shop",
            "app": "web",
            "environment": "production",
            "deployment": {"deploymentId": "d_missing"},
        },
    )
    assert_error(rerun, 404, detail_has="Deployment 'd_missing' does not exist")
    assert count_deployments(db) == 0


def test_bad_trigger_header_is_a_400(http, shop: Shop, db) -> None:
    response = http.post(
        "/v2/deployments.createDeployment",
        json={
            "project": "shop",
            "app": "web",
            "environment": "production",
            "image": {"dockerImage": IMAGE},
        },
        headers={"X-Dockyard-Trigger": "cron"},
    )
    error = assert_error(response, 400, detail_has="header.X-Dockyard-Trigger")
    assert "cli" in error["errors"][0]["fix"]
    assert count_deployments(db) == 0


def _workspace_id(session: Session) -> str:
    workspace_id = session.scalar(select(Project.workspace_id).limit(1))
    assert workspace_id is not None
    return workspace_id


def test_delete_app_waits_until_no_deployment_is_live(unkey: Unkey, shop: Shop, db) -> None:
    deployment_id = deploy(unkey)
    with pytest.raises(errors.PreconditionFailedErrorResponse) as live:
        unkey.apps.delete_app(project="shop", app="web")
    assert f"live deployment ({deployment_id}, pending)" in live.value.data.error.detail

    with db() as session, session.begin():
        session.execute(update(Deployment).values(status="failed"))
    unkey.apps.delete_app(project="shop", app="web")
    assert count_deployments(db) == 0


def test_a_cursor_not_from_this_api_is_a_400(http, shop: Shop) -> None:
    response = http.post("/v2/deployments.listDeployments", json={"cursor": "bm90LWEtY3Vyc29y"})
    error = assert_error(response, 400, detail_has="body.cursor")
    assert "previous response" in error["errors"][0]["fix"]
