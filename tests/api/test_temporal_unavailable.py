"""The API outlives Temporal: it starts without it, refuses deploys clearly, recovers."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from unkey.py import Unkey

from dockyard import search_attributes
from dockyard.cli.dev import free_port
from dockyard.db import make_engine, make_sessionmaker
from dockyard.models import Deployment
from tests.api.conftest import (
    ROOT_KEY,
    RunningApi,
    api_settings,
    assert_error,
    serve,
)
from tests.conftest import temporal_cli

DEPLOY = "/v2/deployments.createDeployment"
BODY = {
    "project": "shop",
    "app": "web",
    "environment": "production",
    "image": {"dockerImage": "dockyard/hello:v1"},
}


def deployments(api: RunningApi) -> list[tuple[str, str, str | None]]:
    """Each deployment's id, status and error message, oldest first."""
    engine = make_engine(api.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(Deployment.id, Deployment.status, Deployment.error_message).order_by(
                    Deployment.created_at
                )
            )
            return [(row.id, row.status, row.error_message) for row in rows]
    finally:
        engine.dispose()


async def test_deploys_wait_for_temporal_and_fail_cleanly_without_it(
    tmp_path: Path, database_url: str
) -> None:
    # Below the ephemeral range: the API dials this port while nothing listens there, and a
    # dial whose source port were this one would connect to itself and hold the port.
    port = free_port()
    with (
        serve(api_settings(tmp_path, database_url, f"127.0.0.1:{port}")) as api,
        api.http() as http,
    ):
        # Up without Temporal: everything that does not need it works.
        with Unkey(server_url=api.url, root_key=ROOT_KEY) as unkey:
            unkey.projects.create_project(name="Shop", slug="shop")
            unkey.apps.create_app(
                request={"project": "shop", "name": "Web", "slug": "web", "git": {}}
            )
        # Bad input is still a 4xx, not a 503.
        assert_error(http.post(DEPLOY, json={**BODY, "project": "nope"}), 404)
        refused = http.post(DEPLOY, json=BODY)
        error = assert_error(refused, 503, detail_has=f"Temporal at 127.0.0.1:{port}")
        assert "Nothing was started" in error["detail"]
        assert refused.headers["Retry-After"] == "5"
        assert deployments(api) == []

        env = await WorkflowEnvironment.start_local(
            port=port,
            dev_server_existing_path=temporal_cli(),
            data_converter=pydantic_data_converter,
            search_attributes=list(search_attributes.ALL),
            dev_server_log_level="error",
        )
        try:
            accepted = http.post(DEPLOY, json=BODY)
            assert accepted.status_code == 201, accepted.text
            first = accepted.json()["data"]["deploymentId"]
            described = await env.client.get_workflow_handle(f"deploy-{first}").describe()
            assert described.id == f"deploy-{first}"
        finally:
            await env.shutdown()

        # Temporal died between the row and the workflow: the row is failed, not pending.
        lost = http.post(DEPLOY, json=BODY)
        error = assert_error(lost, 503, detail_has="was marked failed")
        rows = deployments(api)
        assert [status for _, status, _ in rows] == ["pending", "failed"]
        assert "workflow could not be started" in (rows[1][2] or "")

        # What Unkey's SDK does next (it retries 5XX): fast, and nothing more is written.
        started = time.monotonic()
        assert_error(http.post(DEPLOY, json=BODY), 503, detail_has="Nothing was started")
        assert time.monotonic() - started < 3
        assert len(deployments(api)) == 2

        # A project with deployments is torn down by a workflow: not accepted without it.
        error = assert_error(
            http.post("/v2/projects.deleteProject", json={"project": "shop"}),
            503,
            detail_has="Nothing was started",
        )
        assert http.post("/v2/projects.getProject", json={"project": "shop"}).status_code == 200
        # One that never had a deployment has nothing to tear down: it goes at once.
        http.post("/v2/projects.createProject", json={"name": "Empty", "slug": "empty"})
        assert http.post("/v2/projects.deleteProject", json={"project": "empty"}).status_code == 202
        assert_error(http.post("/v2/projects.getProject", json={"project": "empty"}), 404)
