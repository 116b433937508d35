"""The demo app, deployed by `dockyard dev --demo` so a newcomer has something to open.

dev builds every version of the demo image the README's tour deploys, and deploys the first
to the demo project's production, unless that already serves this very image (the same
image id, not only the same tag): then a restart of dev shows the live URLs again instead
of deploying again. dev's stop removes the app containers; on the next start the region's
worker finds the live deployment's instances gone and starts them again.
"""

from __future__ import annotations

import time
from typing import Any

import docker
import httpx
from sqlalchemy import delete

from dockyard.bootstrap import Bootstrapped, create_root_key
from dockyard.cli.client import ApiClient, ApiError
from dockyard.cli.watch import domain_urls, follow
from dockyard.images import build_demos
from dockyard.models import RootKey
from dockyard.settings import Settings

DEMO_PROJECT = "demo"
DEMO_APP = {"project": DEMO_PROJECT, "app": "default"}
DEPLOYED_VERSION = "v1"
# How long a restart waits for the edge to serve the demo again (its instances restarting).
SERVED_TIMEOUT = 60.0
NOT_SERVED = "the demo app does not answer yet; the worker log says why: {log}"


def deploy_demo(settings: Settings, booted: Bootstrapped) -> None:
    print("building the demo images (examples/hello)…", flush=True)
    client = docker.from_env()
    image = build_demos(client)[DEPLOYED_VERSION]
    image_id = client.images.get(image).id
    # A short-lived key of its own: dev never keeps a plaintext root key around.
    with booted.sessions.begin() as session:
        row, key = create_root_key(session, workspace_id=booted.workspace.id, name="dev demo")
    try:
        with ApiClient(settings.api_url, key) as api:
            _ensure_project(api)
            deployment = _live_deployment(api, image_id)
            if deployment is None:
                deployment = _deploy(api, image)
            else:
                print(f"{image} is live already as {deployment['id']}", flush=True)
    finally:
        with booted.sessions.begin() as session:
            session.execute(delete(RootKey).where(RootKey.id == row.id))
    if deployment["status"] != "ready":
        print(f"the demo deployment {deployment['status']}: {deployment.get('error')}")
        return
    urls = domain_urls(deployment, settings.edge_port)
    if not _served(settings, deployment):
        print(NOT_SERVED.format(log=settings.home / "logs" / "worker.log"), flush=True)
    print("\nThe demo app is live:")
    for url in urls:
        print(f"  {url}")
    print(flush=True)


def _deploy(api: ApiClient, image: str) -> dict[str, Any]:
    created = api.call(
        "deployments.createDeployment",
        {**DEMO_APP, "environment": "production", "image": {"dockerImage": image}},
    )
    print(f"deploying {image} as {created['deploymentId']}…", flush=True)
    return follow(api, created["deploymentId"], say=print)


def _live_deployment(api: ApiClient, image_id: str) -> dict[str, Any] | None:
    """The demo's production deployment serving the live domain, if it is of this image."""
    current = api.call("apps.getApp", DEMO_APP).get("currentDeploymentId")
    if not current:
        return None
    deployment: dict[str, Any] = api.call("deployments.getDeployment", {"deploymentId": current})
    same_image = (deployment.get("docker") or {}).get("resolvedImage") == image_id
    live = deployment["status"] == "ready" and deployment.get("isCurrent")
    return deployment if same_image and live else None


def _served(settings: Settings, deployment: dict[str, Any]) -> bool:
    """True once the edge answers for the deployment: at once after a deployment, within
    seconds after a restart, while the worker starts its instances again."""
    domains = deployment.get("domains") or []
    if not domains:
        return True
    deadline = time.monotonic() + SERVED_TIMEOUT
    while True:
        try:
            answer = httpx.get(
                f"http://127.0.0.1:{settings.edge_port}/", headers={"Host": domains[0]}, timeout=5
            )
            if answer.status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def _ensure_project(api: ApiClient) -> None:
    try:
        api.call("projects.createProject", {"slug": DEMO_PROJECT, "name": "Demo"})
    except ApiError as error:
        if error.status != 409:
            raise
    try:
        api.call("apps.createApp", {"project": DEMO_PROJECT, "slug": "default", "name": "Demo"})
    except ApiError as error:
        if error.status != 409:
            raise
