"""`dockyard envs settings`: an environment's settings shown, changed a few at a time, one
cleared, and a refused change that changes nothing and says why in one sentence."""

from __future__ import annotations

import secrets
from typing import Any

from tests.e2e.conftest import Dockyard
from tests.e2e.test_cli_resources import one_sentence_error, succeeds

FROZEN = "deployments created from now on run with"


def fresh_project(dockyard: Dockyard) -> str:
    """A project of its own with its app `default`, so tests do not share settings."""
    project = f"knobs-{secrets.token_hex(3)}"
    succeeds(dockyard.cli("projects", "create", project))
    succeeds(dockyard.cli("apps", "create", "default", "--project", project))
    return project


def settings(
    dockyard: Dockyard, project: str, env: str, *args: str
) -> tuple[dict[str, str], list[str]]:
    """Each `name  value` line by its name, and the lines after them (when it applies)."""
    lines = succeeds(dockyard.cli(*scoped(project, env), *args)).strip().splitlines()
    shown = [line for line in lines if "  " in line]
    rows = dict(line.split(maxsplit=1) for line in shown)
    # The values line up in one column: the names are padded to the longest.
    assert len({len(line) - len(line.split(maxsplit=1)[1]) for line in shown}) == 1
    return rows, lines[len(shown) :]


def scoped(project: str, env: str) -> tuple[str, ...]:
    return ("envs", "settings", "--project", project, "--env", env)


def stored(dockyard: Dockyard, project: str, env: str) -> dict[str, Any]:
    where = {"project": project, "app": "default", "environment": env}
    response = dockyard.api("environments.getEnvironment", where)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_settings_are_shown_with_a_dash_for_what_is_unset(dockyard: Dockyard) -> None:
    project = fresh_project(dockyard)

    rows, after = settings(dockyard, project, "production")

    assert after == []
    assert rows["environment"] == f"{project}/default/production (production)"
    assert rows["port"] == "8080"
    assert rows["dockerfile"] == "Dockerfile"
    assert rows["memory"] == "256 MiB"
    assert rows["auto-deploy"] == "on"
    assert rows["regions"] == "local (1 replica)"
    assert rows["healthcheck"] == rows["command"] == rows["openapi-spec-path"] == "-"
    assert rows["wake-on-request"].startswith("- ")
    assert settings(dockyard, project, "preview", "--app", "default")[0]["wake-on-request"] == "on"


def test_a_few_settings_change_and_the_rest_stay(dockyard: Dockyard) -> None:
    project = fresh_project(dockyard)

    rows, after = settings(
        dockyard,
        *(project, "production", "--port", "9090", "--memory", "1G", "--replicas", "2"),
        *("--healthcheck-path", "/healthz", "--healthcheck-interval", "2"),
        *("--command", "sh -c 'exec httpd -f -p 9090'", "--no-auto-deploy"),
    )

    assert (rows["port"], rows["memory"], rows["regions"]) == (
        "9090",
        "1024 MiB",
        "local (2 replicas)",
    )
    assert rows["healthcheck"].startswith("GET /healthz every 2s, timeout 5s")
    assert rows["command"] == "sh -c 'exec httpd -f -p 9090'"
    assert (rows["auto-deploy"], rows["dockerfile"], rows["cpus"]) == ("off", "Dockerfile", "0.5")
    [applies] = after
    assert applies.startswith(f"{FROZEN} port, memory, command, regions, healthcheck")
    assert applies.endswith("the next push follows the new auto-deploy")
    runtime = stored(dockyard, project, "production")["runtime"]
    assert runtime["command"] == ["sh", "-c", "exec httpd -f -p 9090"]
    assert runtime["healthcheck"]["path"] == "/healthz"

    # One part of the healthcheck changes; the rest of it is kept.
    rows, _ = settings(dockyard, project, "production", "--healthcheck-timeout", "3")
    assert rows["healthcheck"].startswith("GET /healthz every 2s, timeout 3s")


def test_no_healthcheck_clears_it(dockyard: Dockyard) -> None:
    project = fresh_project(dockyard)
    settings(dockyard, project, "preview", "--healthcheck-path", "/ready")

    rows, after = settings(dockyard, project, "preview", "--no-healthcheck")

    assert rows["healthcheck"] == "-"
    assert after == [f"{FROZEN} healthcheck; deploy again to use them"]
    assert stored(dockyard, project, "preview")["runtime"].get("healthcheck") is None


def test_a_bad_value_is_the_apis_sentence_and_changes_nothing(dockyard: Dockyard) -> None:
    project = fresh_project(dockyard)
    before = stored(dockyard, project, "production")

    bad_memory = dockyard.cli(*scoped(project, "production"), "--port", "9000", "--memory", "300")
    unknown_region = dockyard.cli(*scoped(project, "production"), "--regions", "mars")
    no_path = dockyard.cli(*scoped(project, "production"), "--healthcheck-interval", "5")

    assert one_sentence_error(bad_memory) == "error: --memory: Input should be a multiple of 256"
    assert one_sentence_error(unknown_region) == (
        "error: --regions: region 'mars' is not one this dockyard runs; "
        "Use one of: local (DOCKYARD_REGIONS)."
    )
    assert "--healthcheck-path" in one_sentence_error(no_path)
    assert stored(dockyard, project, "production") == before


def test_wake_on_request_is_refused_for_production_and_applies_at_once_to_a_preview(
    dockyard: Dockyard,
) -> None:
    project = fresh_project(dockyard)

    refused = dockyard.cli(*scoped(project, "production"), "--wake-on-request", "--port", "7000")

    assert one_sentence_error(refused) == (
        "error: --wake-on-request: only a preview environment wakes on request; "
        "production keeps its standby deployments warm instead; "
        "Leave --wake-on-request out for a production environment."
    )
    assert stored(dockyard, project, "production")["runtime"]["port"] == 8080
    rows, after = settings(dockyard, project, "preview", "--no-wake-on-request")
    assert rows["wake-on-request"] == "off"
    assert after == ["wake-on-request applies at once, from the next request to a stopped preview"]
    assert stored(dockyard, project, "preview")["wakeOnRequest"] is False
