"""GitHub as tests see it: real payloads from @octokit/webhooks-examples, GitHub's own
signing code from @octokit/webhooks-methods (run with node), and deliveries built from them.

Both npm packages are installed by `npm ci` in tests/fixtures (scripts/setup does it).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = FIXTURES / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com"
NOT_INSTALLED = (
    "the GitHub webhook fixtures are missing: run `npm ci` in tests/fixtures "
    "(scripts/setup does it)"
)
SIGN_WITH_OCTOKIT = """
import { sign } from "@octokit/webhooks-methods";
let payload = "";
for await (const chunk of process.stdin) payload += chunk;
process.stdout.write(await sign(process.env.WEBHOOK_SECRET, payload));
"""


@functools.cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    index = EXAMPLES / "index.json"
    if not index.exists():
        raise RuntimeError(NOT_INSTALLED)
    return {entry["name"]: entry["examples"] for entry in json.loads(index.read_text())}


def example(event: str, where: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    """A fresh copy of the first real payload of `event` that `where` accepts."""
    for payload in _examples()[event]:
        if where(payload):
            return copy.deepcopy(payload)
    raise LookupError(f"no {event} example matches")


def push_example(
    *, repository: str, branch: str, sha: str, clone_url: str | None = None, files: list[str]
) -> dict[str, Any]:
    """GitHub's push of a new commit to a branch, about another repository and commit."""
    payload = example("push", lambda p: p["ref"].startswith("refs/heads/") and p["head_commit"])
    payload["ref"] = f"refs/heads/{branch}"
    payload["after"] = sha
    payload["repository"]["full_name"] = repository
    payload["repository"]["name"] = repository.split("/")[1]
    if clone_url is not None:
        payload["repository"]["clone_url"] = clone_url
    payload["head_commit"]["id"] = sha
    payload["head_commit"]["modified"] = files
    payload["head_commit"]["added"] = []
    payload["commits"] = [payload["head_commit"]]
    return payload


def branch_deleted_example(*, repository: str, branch: str) -> dict[str, Any]:
    """GitHub's push that deletes a ref (its example deletes a tag; here a branch)."""
    payload = example("push", lambda p: p["deleted"])
    payload["ref"] = f"refs/heads/{branch}"
    payload["repository"]["full_name"] = repository
    return payload


def sign_with_octokit(secret: str, body: str) -> str:
    """`sha256=...` as GitHub computes it, by @octokit/webhooks-methods under node."""
    node = shutil.which("node")
    if node is None or not (FIXTURES / "node_modules").exists():
        raise RuntimeError(NOT_INSTALLED)
    done = subprocess.run(
        [node, "--input-type=module", "-e", SIGN_WITH_OCTOKIT],
        input=body,
        capture_output=True,
        text=True,
        cwd=FIXTURES,
        env={**os.environ, "WEBHOOK_SECRET": secret},
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node could not sign: {done.stderr.strip()}")
    return done.stdout.strip()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    base_url: str,
    event: str,
    payload: dict[str, Any] | str,
    *,
    secret: str | None,
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST a delivery the way GitHub does; signed with `secret` unless `signature` is given."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/dockyard-tests",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
    }
    if signature is None and secret is not None:
        signature = sign(secret, body.encode())
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(f"{base_url}/webhooks/github", content=body, headers=headers, timeout=30)
