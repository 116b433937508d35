"""The demo app, deployed by `dockyard dev --demo` so a newcomer has something to open."""

from __future__ import annotations

import docker
from sqlalchemy import delete

from dockyard.bootstrap import Bootstrapped, create_root_key
from dockyard.cli.client import ApiClient, ApiError
from dockyard.cli.watch import domain_urls, follow
from dockyard.images import build_demo
from dockyard.models import RootKey
from dockyard.settings import Settings

DEMO_PROJECT = "demo"


def deploy_demo(settings: Settings, booted: Bootstrapped) -> None:
    print("building the demo image (examples/hello)…", flush=True)
    image = build_demo(docker.from_env(), "v1")
    # A short-lived key of its own: dev never keeps a plaintext root key around.
    with booted.sessions.begin() as session:
        row, key = create_root_key(session, workspace_id=booted.workspace.id, name="dev demo")
    try:
        with ApiClient(settings.api_url, key) as api:
            _ensure_project(api)
            created = api.call(
                "deployments.createDeployment",
                {
                    "project": DEMO_PROJECT,
                    "app": "default",
                    "environment": "production",
                    "image": {"dockerImage": image},
                },
            )
            print(f"deploying {image} as {created['deploymentId']}…", flush=True)
            deployment = follow(api, created["deploymentId"], say=print)
    finally:
        with booted.sessions.begin() as session:
            session.execute(delete(RootKey).where(RootKey.id == row.id))
    if deployment["status"] != "ready":
        print(f"the demo deployment {deployment['status']}: {deployment.get('error')}")
        return
    print("\nThe demo app is live:")
    for url in domain_urls(deployment, settings.edge_port):
        print(f"  {url}")
    print(flush=True)


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
