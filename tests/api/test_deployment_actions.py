"""deployments.promote/rollback/start/stopDeployment, listBuildLogs and v3 createDeployment.

The actions are validated here and handed to the environment's workflow as signals; no
worker runs in these tests, so the signals wait in the workflow's history, where the test
reads them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.models import App, Deployment, Environment, Workspace
from tests.api.conftest import RunningApi, Shop, assert_error

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
IMAGE = "dockyard/hello:v1"


def deploy(unkey: Unkey, environment: str = "production") -> str:
    return unkey.deployments.create_deployment(
        request={
            "project": "shop",
            "app": "web",
            "environment": environment,
            "image": {"docker_image": IMAGE},
        }
    ).data.deployment_id


def set_state(db, deployment_id: str, status: str, *, current: bool = False) -> str:
    with db() as session, session.begin():
        row = session.get_one(Deployment, deployment_id)
        row.status = status
        if current:
            session.execute(
                update(Environment)
                .where(Environment.id == row.environment_id)
                .values(current_deployment_id=deployment_id)
            )
        return row.environment_id


async def signals(client: Client, environment_id: str) -> list[tuple[str, str]]:
    history = await client.get_workflow_handle(f"env-{environment_id}").fetch_history()
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attributes = event.workflow_execution_signaled_event_attributes
            payload = attributes.input.payloads[0].data.decode()
            found.append((attributes.signal_name, payload))
    return found


async def test_production_rollback_and_promote(
    unkey: Unkey, shop: Shop, db, temporal_client: Client
) -> None:
    live, earlier, building = deploy(unkey), deploy(unkey), deploy(unkey)
    environment_id = set_state(db, live, "ready", current=True)
    set_state(db, earlier, "stopped")
    offered = unkey.deployments.get_deployment(deployment_id=earlier).data.available_actions
    assert [action.value for action in offered] == ["promote", "rollback"]

    unkey.deployments.rollback_deployment(deployment_id=earlier)
    unkey.deployments.promote_deployment(deployment_id=earlier)
    sent = await signals(temporal_client, environment_id)
    assert sent == [
        ("rollback", f'{{"deployment_id":"{earlier}"}}'),
        ("promote", f'{{"deployment_id":"{earlier}"}}'),
    ]

    with pytest.raises(errors.PreconditionFailedErrorResponse) as current:
        unkey.deployments.rollback_deployment(deployment_id=live)
    assert "already the current deployment" in current.value.data.error.detail
    with pytest.raises(errors.PreconditionFailedErrorResponse):
        unkey.deployments.promote_deployment(deployment_id=live)
    with pytest.raises(errors.PreconditionFailedErrorResponse) as pending:
        unkey.deployments.promote_deployment(deployment_id=building)
    assert "pending" in pending.value.data.error.detail
    with pytest.raises(errors.PreconditionFailedErrorResponse) as never_stopped:
        unkey.deployments.stop_deployment(deployment_id=live)
    assert "production" in never_stopped.value.data.error.detail

    # Rolled back: promoting the current deployment confirms the rollback.
    with db() as session, session.begin():
        session.execute(update(App).values(is_rolled_back=True))
    assert [
        a.value for a in unkey.deployments.get_deployment(deployment_id=live).data.available_actions
    ] == ["promote"]
    unkey.deployments.promote_deployment(deployment_id=live)
    assert (await signals(temporal_client, environment_id))[-1][0] == "promote"


async def test_preview_stop_and_start(unkey: Unkey, shop: Shop, db, temporal_client) -> None:
    preview = deploy(unkey, "preview")
    environment_id = set_state(db, preview, "ready", current=True)
    with pytest.raises(errors.PreconditionFailedErrorResponse) as not_stopped:
        unkey.deployments.start_deployment(deployment_id=preview)
    assert "not stopped" in not_stopped.value.data.error.detail
    with pytest.raises(errors.PreconditionFailedErrorResponse) as not_production:
        unkey.deployments.rollback_deployment(deployment_id=preview)
    assert "production deployments only" in not_production.value.data.error.detail
    unkey.deployments.stop_deployment(deployment_id=preview)
    set_state(db, preview, "stopped")
    unkey.deployments.start_deployment(deployment_id=preview)
    assert [name for name, _ in await signals(temporal_client, environment_id)] == [
        "stop",
        "start",
    ]


def test_unknown_or_forbidden_is_the_same_404(
    unkey: Unkey, shop: Shop, api: RunningApi, db
) -> None:
    preview = deploy(unkey, "preview")
    set_state(db, preview, "ready")
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, reader = create_root_key(
            session, workspace_id=workspace_id, permissions=["environment.*.read_deployment"]
        )
    for call in (
        "promote_deployment",
        "rollback_deployment",
        "start_deployment",
        "stop_deployment",
    ):
        with pytest.raises(errors.NotFoundErrorResponse) as missing:
            getattr(unkey.deployments, call)(deployment_id="d_doesnotexist")
        with (
            Unkey(server_url=api.url, root_key=reader) as client,
            pytest.raises(errors.NotFoundErrorResponse) as hidden,
        ):
            getattr(client.deployments, call)(deployment_id=preview)
        assert hidden.value.data.error.detail == missing.value.data.error.detail.replace(
            "d_doesnotexist", preview
        )
        with (
            Unkey(server_url=api.url, root_key="dy_root_nobody") as nobody,
            pytest.raises(errors.UnauthorizedErrorResponse),
        ):
            getattr(nobody.deployments, call)(deployment_id=preview)
        with pytest.raises(errors.BadRequestErrorResponse):
            getattr(unkey.deployments, call)(deployment_id="no spaces allowed")


def test_build_logs_of_an_image_deployment_are_empty(unkey: Unkey, shop: Shop, http) -> None:
    deployment_id = deploy(unkey)
    logs = unkey.deployments.list_build_logs(deployment_id=deployment_id)
    assert logs.data == [] and logs.pagination.has_more is False
    assert logs.pagination.cursor is None
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.deployments.list_build_logs(deployment_id="d_missing")
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.deployments.list_build_logs(deployment_id=deployment_id, cursor="made-up")
    anonymous = http.post(
        "/v2/deployments.listBuildLogs",
        json={"deploymentId": deployment_id},
        headers={"Authorization": "Bearer dy_root_nobody"},
    )
    assert_error(anonymous, 401)


def test_v3_create_deploys_an_oci_apps_default_image(unkey: Unkey, shop: Shop, db) -> None:
    unkey.apps.create_app(
        request={"project": "shop", "name": "Img", "slug": "img", "oci": {"image": IMAGE}}
    )
    where = {"project": "shop", "app": "img", "environment": "production"}
    default = unkey.deployments.create_deployment_v3(**where).data.deployment_id
    explicit = unkey.deployments.create_deployment_v3(
        **where, oci={"image": "dockyard/hello:v2"}
    ).data.deployment_id
    with db() as session:
        images = {d.id: d.image for d in session.scalars(select(Deployment))}
    assert images == {default: IMAGE, explicit: "dockyard/hello:v2"}
    with pytest.raises(errors.BadRequestErrorResponse) as git_app:
        unkey.deployments.create_deployment_v3(project="shop", app="web", environment="production")
    assert "no default image" in git_app.value.data.error.detail
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.deployments.create_deployment_v3(**where, git={"branch": "main"})
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.deployments.create_deployment_v3(project="shop", app="nope", environment="production")


def test_deployments_are_readable_with_unkeys_resource_permission(
    unkey: Unkey, shop: Shop, api: RunningApi, db
) -> None:
    deployment_id = deploy(unkey)
    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        _, reader = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[
                f"unkey:v1:{workspace_id}:projects/*/apps/*/environments/*/deployments/*#read"
            ],
        )
    with Unkey(server_url=api.url, root_key=reader) as client:
        assert (
            client.deployments.get_deployment(deployment_id=deployment_id).data.id == deployment_id
        )
        listed = client.deployments.list_deployments()
        assert listed is not None and [d.id for d in listed.result.data] == [deployment_id]
        # Build logs are their own resource in Unkey's URNs: `.../deployments/<id>/buildLogs`.
        with pytest.raises(errors.APIError) as no_logs:
            client.deployments.list_build_logs(deployment_id=deployment_id)
        assert no_logs.value.status_code == 403
        with pytest.raises(errors.NotFoundErrorResponse):
            client.deployments.promote_deployment(deployment_id=deployment_id)
