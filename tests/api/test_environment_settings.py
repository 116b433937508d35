"""environments.updateSettings: later deployments run with it, earlier ones keep theirs."""

from __future__ import annotations

import pytest
from unkey.py import Unkey, errors

from dockyard.models import Deployment
from tests.api.conftest import Shop, assert_error

WHERE = {"project": "shop", "app": "web", "environment": "production"}
pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")


def test_update_settings_round_trips(unkey: Unkey, shop: Shop, db) -> None:
    before = unkey.deployments.create_deployment(
        request={**WHERE, "image": {"docker_image": "dockyard/hello:v1"}}
    ).data.deployment_id
    unkey.environments.update_settings(
        **WHERE,
        port=9090,
        v_cpus=1.5,
        memory_mib=512,
        command=["sh", "-c", "exec httpd -f -p 9090 -h /www"],
        healthcheck={"method": "GET", "path": "/healthz", "interval_seconds": 2},
        shutdown_signal="SIGINT",
        openapi_spec_path="/openapi.json",
        root_directory="services/web",
        watch_paths=["services/web/**"],
        auto_deploy=False,
        regions=[{"name": "local", "replicas": {"min": 1, "max": 2}}],
    )
    environment = unkey.environments.get_environment(**WHERE).data
    runtime = environment.runtime
    assert runtime is not None
    assert (runtime.port, runtime.v_cpus, runtime.memory_mib) == (9090, 1.5, 512)
    assert runtime.command == ["sh", "-c", "exec httpd -f -p 9090 -h /www"]
    assert runtime.healthcheck is not None and runtime.healthcheck.interval_seconds == 2
    assert (runtime.shutdown_signal.value, runtime.openapi_spec_path) == ("SIGINT", "/openapi.json")
    assert environment.build is not None
    assert (environment.build.root_directory, environment.build.auto_deploy) == (
        "services/web",
        False,
    )
    assert [(r.name, r.replicas.min, r.replicas.max) for r in environment.regions or []] == [
        ("local", 2, 2)
    ]

    unkey.environments.update_settings(**WHERE, healthcheck=None, openapi_spec_path=None)
    runtime = unkey.environments.get_environment(**WHERE).data.runtime
    assert runtime is not None and runtime.healthcheck is None and runtime.port == 9090

    with db() as session:
        frozen = session.get(Deployment, before)
        assert frozen is not None and frozen.runtime["port"] == 8080
        assert frozen.regions == [{"name": "local", "replicas": 1}]


def test_invalid_settings_are_refused_whole(unkey: Unkey, shop: Shop, http) -> None:
    bad_bodies = [
        {"vCpus": 0.3},
        {"memoryMib": 300},
        {"port": None},
        {"regions": []},
        {"regions": [{"name": "mars", "replicas": {"min": 1, "max": 1}}]},
        {"regions": [{"name": "local", "replicas": {"min": 3, "max": 1}}]},
        {"watchPaths": ["/abs/**"]},
        {"buildCommand": "make"},
        {"port": 9000, "healthcheck": {"method": "GET", "path": "no-slash"}},
    ]
    for extra in bad_bodies:
        response = http.post("/v2/environments.updateSettings", json={**WHERE, **extra})
        assert_error(response, 400)
    runtime = unkey.environments.get_environment(**WHERE).data.runtime
    assert runtime is not None and runtime.port == 8080
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.environments.update_settings(**WHERE, regions=[])
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.environments.update_settings(project="shop", app="web", environment="nope", port=1)


def test_wake_on_request_is_a_preview_setting(unkey: Unkey, shop: Shop, http) -> None:
    preview = {**WHERE, "environment": "preview"}
    shown = http.post("/v2/environments.getEnvironment", json=preview).json()["data"]
    assert shown["wakeOnRequest"] is True  # previews wake by default

    turned_off = http.post(
        "/v2/environments.updateSettings", json={**preview, "wakeOnRequest": False}
    )

    assert turned_off.status_code == 200, turned_off.text
    shown = http.post("/v2/environments.getEnvironment", json=preview).json()["data"]
    assert shown["wakeOnRequest"] is False
    # Unkey's SDK reads the environment as before: the field is dockyard's own.
    assert unkey.environments.get_environment(**preview).data.kind.value == "preview"
    production = http.post("/v2/environments.getEnvironment", json=WHERE).json()["data"]
    assert production["wakeOnRequest"] is False  # production never wakes: it has standby

    refused = http.post("/v2/environments.updateSettings", json={**WHERE, "wakeOnRequest": True})
    error = assert_error(refused, 400, detail_has="only a preview environment wakes on request")
    assert error["errors"][0]["location"] == "body.wakeOnRequest"
    for bad in (None, "sometimes", [True]):
        response = http.post(
            "/v2/environments.updateSettings", json={**preview, "wakeOnRequest": bad}
        )
        assert_error(response, 400)
    shown = http.post("/v2/environments.getEnvironment", json=preview).json()["data"]
    assert shown["wakeOnRequest"] is False
