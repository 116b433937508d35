"""The CLI covers what a user sets up around a deployment: variables, custom domains,
keyspaces and keys, gateway policies, a connected repository, stopping and starting a
preview, and a deployment list that says where live traffic stands."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Dockyard

PROJECT = ("--project", "tour")
PREVIEW = ("--project", "tour", "--env", "preview")
PREVIEW_HOST = "tour-preview-acme.localhost"
DOMAIN = "api.dockyard-cli.example.com"
SETTLE_SECONDS = 30.0


@pytest.fixture(scope="module")
def tour(dockyard: Dockyard) -> Dockyard:
    for args in (("projects", "create", "tour"), ("apps", "create", "default", *PROJECT)):
        created = dockyard.cli(*args)
        assert created.returncode == 0, created.stderr
    return dockyard


def succeeds(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_sentence_error(result: subprocess.CompletedProcess[str]) -> str:
    """A failed command says why in one line, with no stack trace."""
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def table(output: str) -> tuple[list[str], dict[str, str]]:
    """The header's columns, and each row by its first cell."""
    header, *rows = output.strip().splitlines()
    return header.split(), {row.split()[0]: row for row in rows}


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {SETTLE_SECONDS:.0f}s"
        time.sleep(0.1)


def status(dockyard: Dockyard, deployment_id: str) -> dict:
    response = dockyard.api("deployments.getDeployment", {"deploymentId": deployment_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def deploy(dockyard: Dockyard, image: str, *scope: str) -> str:
    return succeeds(dockyard.cli("deploy", image, *scope)).split()[1]


def get(dockyard: Dockyard, host: str, key: str | None = None) -> httpx.Response:
    headers = {"Host": host, **({"Authorization": f"Bearer {key}"} if key else {})}
    url = f"http://127.0.0.1:{dockyard.settings.edge_port}/version.txt"
    return httpx.get(url, headers=headers, timeout=30)


def test_variables_are_listed_without_secret_values_and_unset(tour: Dockyard) -> None:
    secret = f"tok-{secrets.token_hex(12)}"
    tour.secrets.add(secret)
    succeeds(tour.cli("vars", "set", "LOG_LEVEL=debug", "GREETING=hi=there", *PROJECT))
    hidden = tour.cli("vars", "set", f"API_TOKEN={secret}", "--secret", *PROJECT)

    listed = succeeds(tour.cli("vars", "list", *PROJECT))

    header, rows = table(listed)
    assert header == ["NAME", "KIND", "VALUE", "SET"]
    assert rows["LOG_LEVEL"].split()[:3] == ["LOG_LEVEL", "plain", "debug"]
    assert rows["GREETING"].split()[:3] == ["GREETING", "plain", "hi=there"]
    assert rows["API_TOKEN"].split()[:3] == ["API_TOKEN", "secret", "(secret)"]
    assert secret not in listed + succeeds(hidden) + hidden.stderr

    assert "no `=`" in one_sentence_error(tour.cli("vars", "set", "LOG_LEVEL", *PROJECT))
    assert "'1X'" in one_sentence_error(tour.cli("vars", "set", "1X=y", *PROJECT))
    assert "no project" in one_sentence_error(tour.cli("vars", "list"))
    assert "NOPE" in one_sentence_error(tour.cli("vars", "unset", "NOPE", *PROJECT))

    succeeds(tour.cli("vars", "unset", "LOG_LEVEL", "API_TOKEN", *PROJECT))
    assert list(table(succeeds(tour.cli("vars", "list", *PROJECT)))[1]) == ["GREETING"]


def test_custom_domain_shows_the_dns_records_it_waits_for_until_removed(tour: Dockyard) -> None:
    added = succeeds(tour.cli("domains", "add", DOMAIN, *PROJECT))
    assert f"dockyard domains verify {DOMAIN}" in added
    assert "CNAME" in added and f"_dockyard.{DOMAIN}" in added

    listed = succeeds(tour.cli("domains", "list", *PROJECT))

    header, rows = table(listed.split("\n\n")[0])
    assert header == ["DOMAIN", "STATUS", "ADDED", "WHY"]
    # The background check may already have looked (and found no records): not verified.
    assert rows[DOMAIN].split()[1] in ("pending", "verifying")
    assert f"{DOMAIN} waits for these DNS records" in listed
    assert "dockyard-domain-verify=" in listed

    assert DOMAIN in one_sentence_error(tour.cli("domains", "verify", DOMAIN))
    assert "localhost" in one_sentence_error(tour.cli("domains", "add", "x.localhost", *PROJECT))
    succeeds(tour.cli("domains", "remove", DOMAIN))
    assert succeeds(tour.cli("domains", "list", *PROJECT)).strip() == "no custom domains"


def test_a_key_from_the_cli_opens_a_preview_guarded_by_a_policy_file(
    tour: Dockyard, demo_images: dict[str, str], tmp_path: Path
) -> None:
    keyspace = succeeds(tour.cli("keyspaces", "create", "tour-clients")).strip()
    header, rows = table(succeeds(tour.cli("keyspaces", "list")))
    assert header == ["ID", "NAME", "KEYS", "CREATED"]
    assert rows[keyspace].split()[1:3] == ["tour-clients", "0"]

    created = succeeds(
        tour.cli(
            *("keys", "create", "-k", "tour-clients", "--name", "ci", "--expires", "30d"),
            *("--ratelimit", "requests=100/1m"),
        )
    )
    key_id, key = created.split()[1], created.strip().splitlines()[-1].strip()
    tour.secrets.add(key)
    listed = succeeds(tour.cli("keys", "list", "--keyspace", keyspace))
    assert table(listed)[1][key_id].split()[2:4] == ["ci", "yes"]
    assert key not in listed
    assert key_id in succeeds(tour.cli("keys", "verify", key))

    policies = tmp_path / "policies.json"
    policies.write_text(
        json.dumps([{"name": "clients", "enabled": True, "keyauth": {"keyspaces": [keyspace]}}])
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name": ')
    assert "not valid JSON" in one_sentence_error(
        tour.cli("policies", "set", "-f", str(broken), *PREVIEW)
    )
    assert "cannot read" in one_sentence_error(
        tour.cli("policies", "set", "-f", "nope.json", *PREVIEW)
    )
    succeeds(tour.cli("policies", "set", "--file", str(policies), *PREVIEW))
    header, rows = table(succeeds(tour.cli("policies", "list", *PREVIEW)))
    assert header[:3] == ["ID", "NAME", "RULE"]
    assert [row.split()[1:4] for row in rows.values()] == [["clients", "keyauth", keyspace]]

    deployment = deploy(tour, demo_images["v1"], *PREVIEW)
    assert get(tour, PREVIEW_HOST).status_code == 401
    assert get(tour, PREVIEW_HOST, key).text.strip() == "v1"

    # A stopped preview would wake on its first request; this one stays stopped until
    # `dockyard start`.
    succeeds(tour.cli("envs", "settings", "-p", "tour", "-e", "preview", "--no-wake-on-request"))
    succeeds(tour.cli("stop", deployment))
    assert status(tour, deployment)["status"] == "stopped"
    eventually(lambda: get(tour, PREVIEW_HOST, key).status_code == 503, "still serving")
    assert "does not exist" in one_sentence_error(tour.cli("stop", "d_doesnotexist"))
    succeeds(tour.cli("start", deployment))
    assert status(tour, deployment)["status"] == "ready"
    eventually(lambda: get(tour, PREVIEW_HOST, key).status_code == 200, "not serving again")

    rerolled = succeeds(tour.cli("keys", "reroll", key_id))
    new_id, new_key = rerolled.split()[1], rerolled.strip().splitlines()[-1].strip()
    tour.secrets.add(new_key)
    assert "not valid" in one_sentence_error(tour.cli("keys", "verify", key))
    succeeds(tour.cli("keys", "revoke", new_id))
    eventually(lambda: get(tour, PREVIEW_HOST, new_key).status_code == 401, "key still accepted")


def test_deployments_list_says_how_old_each_is_and_where_live_traffic_stands(
    tour: Dockyard, demo_images: dict[str, str]
) -> None:
    first = deploy(tour, demo_images["v1"], *PROJECT)
    second = deploy(tour, demo_images["v2"], *PROJECT, "--commit", "abcdef1234")

    header, rows = table(succeeds(tour.cli("deployments", "list", *PROJECT, "-e", "production")))

    assert header == ["DEPLOYMENT", "APP", "ENV", "STATUS", "SOURCE", "AGE", "TRAFFIC"]
    assert " ago " in rows[second] and rows[second].endswith(" live")
    assert rows[first].endswith(" ago")

    succeeds(tour.cli("rollback", first))
    eventually(lambda: status(tour, first)["isCurrent"], "rollback not applied")
    _, rows = table(succeeds(tour.cli("deployments", "list", *PROJECT, "-e", "production")))
    assert rows[first].endswith("live, rolled back to")
    assert rows[second].endswith("rolled back from")
    succeeds(tour.cli("promote", second))


def test_an_app_connects_to_a_repository_and_disconnects(tour: Dockyard) -> None:
    succeeds(tour.cli("apps", "create", "web", *PROJECT))

    connected = succeeds(
        tour.cli("apps", "connect", "acme/web", "-a", "web", "--branch", "trunk", *PROJECT)
    )

    assert "/webhooks/github" in connected
    app = tour.api("apps.getApp", {"project": "tour", "app": "web"}).json()["data"]
    assert app["git"] == {"repository": "acme/web", "defaultBranch": "trunk"}
    not_a_repository = tour.cli("apps", "connect", "acme", "-a", "web", *PROJECT)
    assert "owner/name" in one_sentence_error(not_a_repository)
    succeeds(tour.cli("apps", "disconnect", "-a", "web", *PROJECT))
    assert (
        tour.api("apps.getApp", {"project": "tour", "app": "web"}).json()["data"].get("git") is None
    )
