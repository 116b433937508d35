"""GitHub's webhook fed forged, broken, oversized and replayed deliveries: nothing is
deployed that GitHub did not sign, and nothing is deployed twice."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Dockyard
from tests.github import deliver, push_example, sign
from tests.hostile.conftest import PROJECT, REPOSITORY, WEBHOOK_SECRET
from tests.hostile.raw import send_raw

pytestmark = pytest.mark.integration


def a_push() -> dict[str, Any]:
    return push_example(
        repository=REPOSITORY, branch="main", sha=secrets.token_hex(20), files=["www/index.html"]
    )


def shop_deployments(yard: Dockyard) -> set[str]:
    listed = yard.api(
        "deployments.listDeployments", {"project": PROJECT, "app": "shop", "limit": 100}
    )
    assert listed.status_code == 200, listed.text
    return {deployment["id"] for deployment in listed.json()["data"]}


@pytest.mark.parametrize(
    ("secret", "signature", "said"),
    [
        (None, None, "header is missing"),
        ("not-the-secret", None, "does not match"),
        (None, "sha256=" + "0" * 64, "does not match"),
        (None, "sha1=" + "0" * 40, "does not match"),
        (None, "garbage", "does not match"),
    ],
)
def test_an_unsigned_or_forged_delivery_is_a_401_and_deploys_nothing(
    yard: Dockyard, secret: str | None, signature: str | None, said: str
) -> None:
    before = shop_deployments(yard)
    answer = deliver(yard.settings.api_url, "push", a_push(), secret=secret, signature=signature)
    assert answer.status_code == 401, answer.text
    assert said in answer.json()["error"]["detail"]
    assert shop_deployments(yard) == before


def test_a_body_changed_after_signing_is_a_401(yard: Dockyard) -> None:
    signed = json.dumps(a_push())
    tampered = signed.replace("refs/heads/main", "refs/heads/evil", 1)
    assert tampered != signed
    answer = deliver(
        yard.settings.api_url,
        "push",
        tampered,
        secret=None,
        signature=sign(WEBHOOK_SECRET, signed.encode()),
    )
    assert answer.status_code == 401, answer.text


def test_a_replayed_delivery_starts_no_second_deployment(yard: Dockyard) -> None:
    before = shop_deployments(yard)
    payload, delivery = a_push(), str(uuid.uuid4())
    url = yard.settings.api_url
    first = deliver(url, "push", payload, secret=WEBHOOK_SECRET, delivery=delivery)
    assert first.status_code == 200, first.text
    [started] = first.json()["deploymentIds"]
    for _ in range(2):
        again = deliver(url, "push", payload, secret=WEBHOOK_SECRET, delivery=delivery)
        assert again.status_code == 200, again.text
        assert again.json() == {"message": "delivery already handled", "delivery": delivery}
    assert shop_deployments(yard) == before | {started}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("{not json", "is not a GitHub event"),
        ("", "is not a GitHub event"),
        ('{"ref": 5, "after": [], "repository": {}}', "body.ref"),
        ('{"ref": "refs/heads/main"}', "body.after"),
        ("[1, 2, 3]", "body"),
    ],
)
def test_a_signed_but_malformed_delivery_is_a_400_and_deploys_nothing(
    yard: Dockyard, body: str, said: str
) -> None:
    before = shop_deployments(yard)
    answer = deliver(yard.settings.api_url, "push", body, secret=WEBHOOK_SECRET)
    assert answer.status_code == 400, answer.text
    assert said in answer.json()["error"]["detail"]
    assert shop_deployments(yard) == before


def test_a_delivery_larger_than_github_sends_is_a_413(yard: Dockyard) -> None:
    size = 25 * 1024 * 1024 + 1
    head = (
        "POST /webhooks/github HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
        f"X-Hub-Signature-256: sha256={'0' * 64}\r\nContent-Length: {size}\r\n\r\n"
    )
    answer = send_raw(yard.settings.api_port, head.encode())
    assert answer.status == 413, answer
    assert "25 MB" in json.loads(answer.body)["error"]["detail"]


def test_events_dockyard_does_not_act_on_are_accepted_and_ignored(yard: Dockyard) -> None:
    before = shop_deployments(yard)
    for event in ("issues", "star", "pushed", "../../push"):
        answer = deliver(yard.settings.api_url, event, a_push(), secret=WEBHOOK_SECRET)
        assert answer.status_code == 202, answer.text
        assert answer.json()["message"] == f"{event} events are ignored"
    assert shop_deployments(yard) == before


def test_a_delivery_without_its_event_or_id_is_a_400(yard: Dockyard) -> None:
    body = json.dumps(a_push())
    for missing in ("X-GitHub-Event", "X-GitHub-Delivery"):
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET, body.encode()),
            "Content-Type": "application/json",
        }
        del headers[missing]
        answer = httpx.post(
            f"{yard.settings.api_url}/webhooks/github", content=body, headers=headers
        )
        assert answer.status_code == 400, answer.text
        assert missing in answer.json()["error"]["detail"]
