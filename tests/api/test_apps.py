"""apps.*, through Unkey's SDK."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from unkey.py import Unkey, errors, models

from dockyard.models import App, Environment
from tests.api.conftest import Shop, assert_error


def test_create_app_makes_production_and_preview(unkey: Unkey, shop: Shop) -> None:
    assert shop.app_id.startswith("app_")
    environments = unkey.environments.list_environments(project="shop", app="web").data
    assert [(env.slug, env.kind.value) for env in environments] == [
        ("production", "production"),
        ("preview", "preview"),
    ]


def test_get_by_slug_or_id_and_list(unkey: Unkey, shop: Shop) -> None:
    request: models.V2AppsCreateAppRequestBody1TypedDict = {
        "project": shop.project_id,
        "name": "API",
        "slug": "api",
        "git": {"repository": "acme/api", "default_branch": "trunk"},
    }
    unkey.apps.create_app(request=request)
    web = unkey.apps.get_app(project="shop", app="web").data
    assert web == unkey.apps.get_app(project=shop.project_id, app=shop.app_id).data
    assert (web.id, web.name, web.slug, web.is_rolled_back) == (shop.app_id, "Web", "web", False)
    assert web.git is None and web.current_deployment_id is None

    api = unkey.apps.get_app(project="shop", app="api").data
    assert api.git is not None
    assert (api.git.repository, api.git.default_branch) == ("acme/api", "trunk")
    assert api.source_type is not None and api.source_type.value == "git"

    first = unkey.apps.list_apps(project="shop", limit=1)
    assert first is not None and first.result.pagination.has_more
    second = first.next()
    assert second is not None and not second.result.pagination.has_more
    slugs = {app.slug for page in (first, second) for app in page.result.data}
    assert slugs == {"web", "api"}


def test_duplicate_app_slug_is_a_conflict(unkey: Unkey, shop: Shop, db) -> None:
    with pytest.raises(errors.ConflictErrorResponse) as conflict:
        unkey.apps.create_app(
            request={"project": "shop", "name": "Web 2", "slug": "web", "git": {}}
        )
    assert conflict.value.data.error.detail == (
        "An app with slug 'web' already exists in project 'shop'."
    )
    with db() as session:
        assert session.scalar(select(func.count()).select_from(App)) == 1
        assert session.scalar(select(func.count()).select_from(Environment)) == 2


def test_unknown_project_is_a_404_and_writes_nothing(unkey: Unkey, db) -> None:
    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.apps.create_app(request={"project": "nope", "name": "Web", "slug": "web", "git": {}})
    assert "Project 'nope' does not exist" in missing.value.data.error.detail
    with db() as session:
        assert session.scalar(select(func.count()).select_from(App)) == 0


def test_oci_source_is_refused_with_a_way_forward(unkey: Unkey, shop: Shop, http) -> None:
    response = http.post(
        "/v2/apps.createApp",
        json={"project": "shop", "name": "Img", "slug": "img", "oci": {"image": "nginx:1.27"}},
    )
    error = assert_error(response, 400, detail_has="body.oci")
    assert "git: {}" in error["errors"][0]["fix"]


def test_delete_app_removes_its_environments(unkey: Unkey, shop: Shop, db) -> None:
    unkey.apps.delete_app(project="shop", app="web")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.apps.get_app(project="shop", app="web")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Environment)) == 0
