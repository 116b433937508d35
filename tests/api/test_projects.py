"""projects.*, through Unkey's SDK."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus
from unkey.py import Unkey, errors

from dockyard.models import Project
from tests.api.conftest import RunningApi, Shop, assert_error
from tests.api.test_deployments import deploy


def test_create_get_update_delete(unkey: Unkey) -> None:
    created = unkey.projects.create_project(name="Payments Service", slug="payments")
    project_id = created.data.id
    assert project_id.startswith("proj_")
    assert created.meta.request_id.startswith("req_")

    by_slug = unkey.projects.get_project(project="payments").data
    by_id = unkey.projects.get_project(project=project_id).data
    assert by_slug == by_id
    assert (by_id.name, by_id.slug, by_id.delete_protection) == (
        "Payments Service",
        "payments",
        False,
    )
    assert by_id.created_at > 0 and by_id.updated_at is None

    updated = unkey.projects.update_project(
        project="payments", slug="payments-api", name="Payments API", delete_protection=True
    ).data
    assert (updated.slug, updated.name, updated.delete_protection) == (
        "payments-api",
        "Payments API",
        True,
    )
    assert updated.updated_at is not None

    with pytest.raises(errors.PreconditionFailedErrorResponse) as protected:
        unkey.projects.delete_project(project="payments-api")
    assert "delete protection" in protected.value.data.error.detail

    unkey.projects.update_project(project=project_id, delete_protection=False)
    unkey.projects.delete_project(project="payments-api")
    with pytest.raises(errors.NotFoundErrorResponse) as gone:
        unkey.projects.get_project(project=project_id)
    assert "does not exist" in gone.value.data.error.detail


def test_duplicate_slug_is_a_conflict_and_writes_nothing(unkey: Unkey, db) -> None:
    unkey.projects.create_project(name="Shop", slug="shop")
    with pytest.raises(errors.ConflictErrorResponse) as conflict:
        unkey.projects.create_project(name="Another shop", slug="shop")
    assert conflict.value.data.error.detail == (
        "A project with slug 'shop' already exists in this workspace."
    )
    unkey.projects.create_project(name="Blog", slug="blog")
    with pytest.raises(errors.ConflictErrorResponse):
        unkey.projects.update_project(project="blog", slug="shop")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 2
        assert session.scalar(select(Project.slug).where(Project.name == "Blog")) == "blog"


def test_list_pages_through_every_project(unkey: Unkey) -> None:
    slugs = [f"project-{index}" for index in range(5)]
    for slug in slugs:
        unkey.projects.create_project(name=slug.title(), slug=slug)

    seen: list[str] = []
    pages = 0
    response = unkey.projects.list_projects(limit=2)
    while response is not None:
        pages += 1
        seen.extend(project.slug for project in response.result.data)
        assert response.result.pagination.has_more == (
            response.result.pagination.cursor is not None
        )
        response = response.next()
    assert sorted(seen) == slugs and len(seen) == 5
    assert pages == 3

    found = unkey.projects.list_projects(search="JECT-3")
    assert found is not None
    assert [project.slug for project in found.result.data] == ["project-3"]


def test_bad_slug_is_a_400_naming_the_field(http) -> None:
    response = http.post("/v2/projects.createProject", json={"name": "Shop", "slug": "Shop_1"})
    error = assert_error(response, 400, detail_has="body.slug")
    assert error["errors"][0]["location"] == "body.slug"
    assert "lowercase" in error["errors"][0]["message"]


def test_unknown_project_is_a_404(unkey: Unkey) -> None:
    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.projects.get_project(project="nope")
    assert missing.value.data.error.detail == "Project 'nope' does not exist in this workspace."


async def test_a_project_that_had_deployments_is_deleted_by_its_workflow(
    unkey: Unkey, shop: Shop, api: RunningApi, temporal_client: Client
) -> None:
    deploy(unkey)
    unkey.projects.delete_project(project="shop")
    handle = temporal_client.get_workflow_handle(f"delete-project-{shop.project_id}")
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.task_queue == f"{api.settings.task_queue_prefix}-control"
    # Asked again while it runs: accepted again, and the same workflow goes on.
    unkey.projects.delete_project(project=shop.project_id)
    assert (await handle.describe()).run_id == described.run_id
    # No worker polls this test's queues: the project stays until the workflow removes it
    # (tests/workflows/test_project_deletion.py runs it).
    assert unkey.projects.get_project(project="shop").data.id == shop.project_id
    await handle.terminate()
