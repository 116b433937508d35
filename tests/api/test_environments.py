"""environments.*: Unkey's reads through the SDK, dockyard's createEnvironment over HTTP."""

from __future__ import annotations

import pytest
from unkey.py import Unkey, errors

from tests.api.conftest import Shop, assert_error


def test_get_environment_by_slug_or_id(unkey: Unkey, shop: Shop) -> None:
    production = unkey.environments.get_environment(
        project="shop", app="web", environment="production"
    ).data
    assert production.id.startswith("env_")
    assert (production.slug, production.kind.value, production.description) == (
        "production",
        "production",
        "",
    )
    same = unkey.environments.get_environment(
        project=shop.project_id, app=shop.app_id, environment=production.id
    ).data
    assert same == production
    # What a deployment would run with: dockyard's defaults, every configured region.
    assert production.runtime is not None and production.runtime.port == 8080
    assert production.regions is not None
    assert [(r.name, r.replicas.min, r.replicas.max) for r in production.regions] == [
        ("local", 1, 1)
    ]
    assert production.build is not None and production.build.dockerfile == "Dockerfile"


def test_create_environment_extension(unkey: Unkey, shop: Shop, http) -> None:
    response = http.post(
        "/v2/environments.createEnvironment",
        json={
            "project": "shop",
            "app": "web",
            "slug": "staging",
            "kind": "preview",
            "description": "QA",
        },
    )
    assert response.status_code == 200, response.text
    environment_id = response.json()["data"]["id"]
    staging = unkey.environments.get_environment(
        project="shop", app="web", environment="staging"
    ).data
    assert (staging.id, staging.kind.value, staging.description) == (
        environment_id,
        "preview",
        "QA",
    )
    slugs = [
        env.slug for env in unkey.environments.list_environments(project="shop", app="web").data
    ]
    assert slugs == ["production", "preview", "staging"]


def test_create_environment_conflicts(shop: Shop, http) -> None:
    duplicate = http.post(
        "/v2/environments.createEnvironment",
        json={"project": "shop", "app": "web", "slug": "preview", "kind": "preview"},
    )
    assert_error(duplicate, 409, detail_has="slug 'preview' already exists in app 'web'")
    second_production = http.post(
        "/v2/environments.createEnvironment",
        json={"project": "shop", "app": "web", "slug": "prod-2", "kind": "production"},
    )
    assert_error(second_production, 409, detail_has="already has its production environment")
    bad_kind = http.post(
        "/v2/environments.createEnvironment",
        json={"project": "shop", "app": "web", "slug": "qa-env", "kind": "staging"},
    )
    error = assert_error(bad_kind, 400)
    assert error["errors"][0]["location"] == "body.kind"


def test_unknown_environment_is_a_404(unkey: Unkey, shop: Shop) -> None:
    with pytest.raises(errors.NotFoundErrorResponse) as missing:
        unkey.environments.get_environment(project="shop", app="web", environment="staging")
    assert missing.value.data.error.detail == "Environment 'staging' does not exist in app 'web'."
