"""POST /webhooks/github with GitHub's real payloads, against a real API and database.

No worker polls these tests' task queues, so the deployments a delivery starts stay
`pending`: what is checked here is what the delivery wrote and started, and what it did not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey

from dockyard.db import make_engine, make_sessionmaker
from dockyard.models import Deployment, DeploymentStep, Environment, WebhookDelivery
from tests.api.conftest import ROOT_KEY, RunningApi, api_settings, free_port, serve
from tests.github import (
    branch_deleted_example,
    deliver,
    example,
    push_example,
    sign,
    sign_with_octokit,
)

SECRET = "It's a Secret to Everybody"
REPOSITORY = "Codertocat/Hello-World"
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


@pytest.fixture
def api(tmp_path: Path, database_url: str, temporal_address: str) -> Iterator[RunningApi]:
    settings = api_settings(tmp_path, database_url, temporal_address).model_copy(
        update={
            "github_webhook_secret": SecretStr(SECRET),
            "git_clone_url": f"file://{tmp_path}/{{repository}}.git",
        }
    )
    with serve(settings) as running:
        yield running


def hello_app(unkey: Unkey) -> str:
    """An app connected to GitHub's example repository; its default branch is `master`."""
    unkey.projects.create_project(name="Hello", slug="hello")
    created = unkey.apps.create_app(
        request={
            "project": "hello",
            "name": "World",
            "slug": "world",
            "git": {"repository": REPOSITORY, "default_branch": "master"},
        }
    )
    return created.data.app_id


@pytest.fixture
def hello(unkey: Unkey) -> str:
    return hello_app(unkey)


def deployments(db: sessionmaker[Session]) -> list[Deployment]:
    with db() as session:
        return list(session.scalars(select(Deployment).order_by(Deployment.created_at)))


def deliveries(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


def environment_of(db: sessionmaker[Session], deployment: Deployment) -> Environment:
    with db() as session:
        return session.get_one(Environment, deployment.environment_id)


def test_ping_signed_by_githubs_own_code_answers_200(api: RunningApi) -> None:
    payload = json.dumps(example("ping"))

    answer = deliver(
        api.url, "ping", payload, secret=None, signature=sign_with_octokit(SECRET, payload)
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "pong"


def test_push_to_the_default_branch_deploys_production_at_the_pushed_commit(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = json.dumps(example("push", lambda p: p["ref"] == "refs/heads/master"))

    answer = deliver(
        api.url, "push", payload, secret=None, signature=sign_with_octokit(SECRET, payload)
    )

    assert answer.status_code == 200, answer.text
    [deployment] = deployments(db)
    assert answer.json()["deploymentIds"] == [deployment.id]
    assert (deployment.source, deployment.trigger, deployment.status) == (
        "git",
        "github",
        "pending",
    )
    assert (deployment.git_branch, deployment.git_commit_sha) == ("master", SHA)
    assert deployment.git_commit_message == "Initial commit"
    assert deployment.git_repository == "https://github.com/Codertocat/Hello-World.git"
    assert environment_of(db, deployment).kind == "production"


def test_a_pushed_deployment_shows_who_authored_its_commit_and_when(
    api: RunningApi, hello: str, unkey: Unkey, http: httpx.Client
) -> None:
    payload = json.dumps(example("push", lambda p: p["ref"] == "refs/heads/master"))
    answer = deliver(api.url, "push", payload, secret=SECRET)
    [pushed] = answer.json()["deploymentIds"]
    rerun = create(http, {"deployment": {"deploymentId": pushed}}).json()["data"]["deploymentId"]

    for deployment_id in (pushed, rerun):  # a re-run builds the same commit, by the same hand
        git = unkey.deployments.get_deployment(deployment_id=deployment_id).data.git
        assert git is not None and git.author is not None
        assert git.author.handle == "Codertocat"
        assert git.author.avatar_url == "https://avatars1.githubusercontent.com/u/21031067?v=4"
        assert git.commit_timestamp == 1557933565000  # 2019-05-15T15:19:25Z


def test_a_replayed_delivery_changes_nothing(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = push_example(repository=REPOSITORY, branch="master", sha=SHA, files=["a.txt"])
    delivery = str(uuid.uuid4())

    first = deliver(api.url, "push", payload, secret=SECRET, delivery=delivery)
    again = deliver(api.url, "push", payload, secret=SECRET, delivery=delivery)

    assert first.status_code == again.status_code == 200
    assert again.json()["message"] == "delivery already handled"
    assert len(deployments(db)) == 1


def test_other_branches_deploy_to_their_own_preview_environment(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    for sha in ("a" * 40, "b" * 40):
        payload = push_example(
            repository=REPOSITORY, branch="feature/Login-Page", sha=sha, files=["x"]
        )
        assert deliver(api.url, "push", payload, secret=SECRET).status_code == 200
    payload = push_example(repository=REPOSITORY, branch="fix-1", sha="c" * 40, files=["x"])
    assert deliver(api.url, "push", payload, secret=SECRET).status_code == 200

    first, second, other = deployments(db)
    environment = environment_of(db, first)
    assert (environment.kind, environment.branch) == ("preview", "feature/Login-Page")
    assert environment.slug == "preview-feature-login-page"
    assert environment_of(db, second).id == environment.id
    assert environment_of(db, other).slug == "preview-fix-1"
    assert second.git_commit_sha == "b" * 40


def test_watch_paths_and_auto_deploy_mark_deployments_skipped(
    api: RunningApi, hello: str, db: sessionmaker[Session], http: httpx.Client
) -> None:
    where = {"project": "hello", "app": "world", "environment": "production"}
    settings = http.post(
        "/v2/environments.updateSettings", json={**where, "watchPaths": ["src/**"]}
    )
    assert settings.status_code == 200, settings.text
    untouched = push_example(repository=REPOSITORY, branch="master", sha="1" * 40, files=["a.md"])
    touched = push_example(repository=REPOSITORY, branch="master", sha="2" * 40, files=["src/a"])

    skipped = deliver(api.url, "push", untouched, secret=SECRET).json()
    built = deliver(api.url, "push", touched, secret=SECRET).json()
    http.post("/v2/environments.updateSettings", json={**where, "autoDeploy": False})
    off = deliver(api.url, "push", touched | {"after": "3" * 40}, secret=SECRET).json()

    first, second, third = deployments(db)
    assert skipped["skippedDeploymentIds"] == [first.id] and first.status == "skipped"
    assert built["deploymentIds"] == [second.id] and second.status == "pending"
    assert off["skippedDeploymentIds"] == [third.id] and third.status == "skipped"
    with db() as session:
        reasons = [
            session.scalar(
                select(DeploymentStep.message).where(DeploymentStep.deployment_id == row.id)
            )
            for row in (first, third)
        ]
    assert reasons == [
        "no changed file matches the environment's watch paths",
        "auto-deploy is off for this environment",
    ]


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        (None, "X-Hub-Signature-256 header is missing"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=0123456789abcdef0123456789abcdef01234567", "does not match"),
        ("garbage", "does not match"),
    ],
)
def test_a_missing_or_wrong_signature_is_a_401_and_nothing_happens(
    api: RunningApi, hello: str, db: sessionmaker[Session], signature: str | None, detail: str
) -> None:
    payload = push_example(repository=REPOSITORY, branch="master", sha=SHA, files=["x"])

    answer = deliver(api.url, "push", payload, secret=None, signature=signature)

    assert answer.status_code == 401, answer.text
    assert detail in answer.json()["error"]["detail"]
    assert SECRET not in answer.text
    assert deployments(db) == [] and deliveries(db) == 0


def test_a_body_signed_with_another_secret_is_refused(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = json.dumps(push_example(repository=REPOSITORY, branch="master", sha=SHA, files=[]))
    forged = sign_with_octokit("not the secret", payload)

    assert deliver(api.url, "push", payload, secret=None, signature=forged).status_code == 401
    assert deployments(db) == []


def test_without_a_configured_secret_every_delivery_is_refused(
    tmp_path: Path, database_url: str, temporal_address: str
) -> None:
    with serve(api_settings(tmp_path, database_url, temporal_address)) as running:
        answer = deliver(running.url, "ping", example("ping"), secret="")

    assert answer.status_code == 401
    assert "DOCKYARD_GITHUB_WEBHOOK_SECRET" in answer.json()["error"]["detail"]


@pytest.mark.parametrize(
    ("event", "body", "location"),
    [
        ("push", "{not json", "body"),
        ("push", "[1, 2]", "body"),
        ("push", json.dumps({"ref": "refs/heads/main"}), "body.after"),
        ("push", json.dumps({"ref": "refs/heads/main", "after": SHA}), "body.repository"),
        ("", "{}", "header.X-GitHub-Event"),
    ],
)
def test_malformed_deliveries_are_400s(
    api: RunningApi, hello: str, db: sessionmaker[Session], event: str, body: str, location: str
) -> None:
    answer = deliver(api.url, event, body, secret=SECRET)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["errors"][0]["location"] == location
    assert deployments(db) == [] and deliveries(db) == 0


def test_an_oversized_delivery_is_a_413(api: RunningApi, db: sessionmaker[Session]) -> None:
    body = "x" * (25 * 1024 * 1024 + 1)

    answer = deliver(api.url, "push", body, secret=SECRET)

    assert answer.status_code == 413
    assert deliveries(db) == 0


def test_events_dockyard_does_not_act_on_are_accepted_and_ignored(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    answer = deliver(api.url, "star", example("star"), secret=SECRET)
    tag = deliver(api.url, "push", example("push", lambda p: "tags" in p["ref"]), secret=SECRET)

    assert answer.status_code == 202
    assert tag.status_code == 200 and "not a branch" in tag.json()["message"]
    assert deployments(db) == []


def test_form_encoded_deliveries_are_read_like_json_ones(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = push_example(repository=REPOSITORY, branch="master", sha=SHA, files=["x"])
    body = urlencode({"payload": json.dumps(payload)})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(SECRET, body.encode()),
    }

    answer = httpx.post(f"{api.url}/webhooks/github", content=body, headers=headers)

    assert answer.status_code == 200, answer.text
    assert len(deployments(db)) == 1


def test_a_repository_no_app_is_connected_to_deploys_nothing(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = push_example(repository="someone/else", branch="master", sha=SHA, files=["x"])
    payload["repository"]["clone_url"] = "https://github.com/someone/else.git"

    answer = deliver(api.url, "push", payload, secret=SECRET)

    assert answer.status_code == 200
    assert deployments(db) == []


def test_deleting_a_branch_with_no_running_preview_archives_nothing(
    api: RunningApi, hello: str, db: sessionmaker[Session]
) -> None:
    payload = branch_deleted_example(repository=REPOSITORY, branch="feature")

    answer = deliver(api.url, "push", payload, secret=SECRET)

    assert answer.status_code == 200, answer.text
    assert answer.json().get("archivedDeploymentIds", []) == []
    assert deployments(db) == []


def create(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    where = {"project": "hello", "app": "world", "environment": "production"}
    return http.post("/v2/deployments.createDeployment", json={**where, **body})


def test_with_temporal_down_a_push_is_a_503_that_writes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    settings = api_settings(tmp_path, database_url, unreachable).model_copy(
        update={"github_webhook_secret": SecretStr(SECRET)}
    )
    payload = push_example(repository=REPOSITORY, branch="master", sha=SHA, files=["x"])
    with serve(settings) as running, Unkey(server_url=running.url, root_key=ROOT_KEY) as unkey:
        hello_app(unkey)
        answer = deliver(running.url, "push", payload, secret=SECRET)
        engine = make_engine(settings.database_url)
        db = make_sessionmaker(engine)
        try:
            assert deployments(db) == [] and deliveries(db) == 0
        finally:
            engine.dispose()

    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]


def test_create_deployment_with_git_builds_the_apps_repository(
    api: RunningApi, hello: str, db: sessionmaker[Session], http: httpx.Client, tmp_path: Path
) -> None:
    by_branch = create(http, {"git": {"branch": "master"}})
    by_commit = create(http, {"git": {"commitSha": SHA.upper()}})

    assert by_branch.status_code == by_commit.status_code == 201, by_branch.text
    branch_row, commit_row = deployments(db)
    assert branch_row.source == commit_row.source == "git"
    assert branch_row.git_repository == f"file://{tmp_path}/{REPOSITORY}.git"
    assert (branch_row.git_branch, branch_row.git_commit_sha) == ("master", None)
    assert (commit_row.git_branch, commit_row.git_commit_sha) == ("master", SHA)


def test_redeploying_a_git_deployment_rebuilds_exactly_its_commit(
    api: RunningApi, hello: str, db: sessionmaker[Session], http: httpx.Client
) -> None:
    earlier = create(http, {"git": {"commitSha": SHA}}).json()["data"]["deploymentId"]
    unresolved = create(http, {"git": {"branch": "master"}}).json()["data"]["deploymentId"]

    again = create(http, {"deployment": {"deploymentId": earlier}})
    refused = create(http, {"deployment": {"deploymentId": unresolved}})

    assert again.status_code == 201, again.text
    rebuilt = next(d for d in deployments(db) if d.id == again.json()["data"]["deploymentId"])
    assert (rebuilt.source, rebuilt.git_commit_sha, rebuilt.image) == ("git", SHA, None)
    assert refused.status_code == 400
    assert "no exact commit to rebuild" in refused.json()["error"]["detail"]


def test_a_fork_commit_needs_its_sha(api: RunningApi, hello: str, http: httpx.Client) -> None:
    answer = create(http, {"git": {"repository": "contributor/hello", "branch": "main"}})

    assert answer.status_code == 400
    assert answer.json()["error"]["errors"][0]["location"] == "body.git.commitSha"


def test_root_key_is_not_needed_but_the_signature_is(api: RunningApi, hello: str) -> None:
    # Deliveries come from GitHub, which holds no root key: the signature is the auth.
    payload = push_example(repository=REPOSITORY, branch="master", sha=SHA, files=["x"])
    answer = deliver(api.url, "push", payload, secret=SECRET)
    assert answer.status_code == 200
    assert ROOT_KEY not in answer.text
