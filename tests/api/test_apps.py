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


def test_oci_app_keeps_its_default_image(unkey: Unkey, shop: Shop, http) -> None:
    request: models.V2AppsCreateAppRequestBody2TypedDict = {
        "project": "shop",
        "name": "Img",
        "slug": "img",
        "oci": {"image": "ghcr.io/acme/img:v1"},
    }
    unkey.apps.create_app(request=request)
    img = unkey.apps.get_app(project="shop", app="img").data
    assert img.source_type is not None and img.source_type.value == "oci"
    assert img.oci is not None and img.oci.image == "ghcr.io/acme/img:v1"
    assert img.git is None

    both = http.post(
        "/v2/apps.createApp",
        json={"project": "shop", "name": "X", "slug": "both", "git": {}, "oci": {"image": "a:b"}},
    )
    assert "exactly one source" in assert_error(both, 400)["detail"]
    bad = http.post(
        "/v2/apps.createApp",
        json={"project": "shop", "name": "X", "slug": "bad", "oci": {"image": "UPPER/Case"}},
    )
    assert_error(bad, 400, detail_has="body.oci.image")


def test_update_app_changes_only_what_is_sent(unkey: Unkey, shop: Shop, http) -> None:
    unkey.apps.create_app(
        request={"project": "shop", "name": "Img", "slug": "img", "oci": {"image": "a/b:1"}}
    )
    updated = unkey.apps.update_app(
        project="shop", app="web", name="Website", git={"repository": "acme/web"}
    ).data
    assert (updated.name, updated.slug) == ("Website", "web")
    assert updated.git is not None and updated.git.repository == "acme/web"
    assert updated.updated_at is not None

    renamed = unkey.apps.update_app(
        project="shop", app=shop.app_id, slug="site", delete_protection=True, git=None
    ).data
    assert (renamed.slug, renamed.delete_protection, renamed.git) == ("site", True, None)
    assert unkey.apps.get_app(project="shop", app="site").data.name == "Website"

    image = unkey.apps.update_app(project="shop", app="img", oci={"image": "a/b:2"}).data
    assert image.oci is not None and image.oci.image == "a/b:2"

    with pytest.raises(errors.ConflictErrorResponse):
        unkey.apps.update_app(project="shop", app="site", slug="img")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.apps.update_app(project="shop", app="nope", name="x")
    with pytest.raises(errors.BadRequestErrorResponse) as switching:
        unkey.apps.update_app(project="shop", app="site", oci={"image": "a/b:3"})
    assert "not supported" in switching.value.data.error.detail
    nothing = http.post("/v2/apps.updateApp", json={"project": "shop", "app": "site"})
    assert_error(nothing, 400, detail_has="at least one field")
    assert unkey.apps.get_app(project="shop", app="site").data.slug == "site"


def test_delete_app_removes_its_environments(unkey: Unkey, shop: Shop, db) -> None:
    unkey.apps.delete_app(project="shop", app="web")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.apps.get_app(project="shop", app="web")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Environment)) == 0
