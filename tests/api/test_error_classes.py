"""Every operation of the six SDK groups, provoked into each error class a caller can cause
without a bug: 401 (no such key), 403 (or Unkey's 404 where it hides existence) and 400.

The resource tests cover 404, 409 and 412 where each can happen; this covers the errors every
operation shares, so no operation is left without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.models import Deployment, Workspace
from tests.api.conftest import RunningApi, Shop

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
Call = Callable[[Unkey], Any]
ENV = {"project": "shop", "app": "web", "environment": "production"}
BAD = "bad id!"  # not a ResourceIdentifier: a 400 before anything is looked up


def operations(deployment_id: str) -> dict[str, tuple[Call, Call]]:
    """Each operation: a call that would succeed with the bootstrap key, and a malformed one."""
    d = deployment_id
    return {
        "projects.create": (
            lambda u: u.projects.create_project(name="N", slug="new-project"),
            lambda u: u.projects.create_project(name="", slug="new-project"),
        ),
        "projects.get": (
            lambda u: u.projects.get_project(project="shop"),
            lambda u: u.projects.get_project(project=BAD),
        ),
        "projects.list": (
            lambda u: u.projects.list_projects(),
            lambda u: u.projects.list_projects(limit=0),
        ),
        "projects.update": (
            lambda u: u.projects.update_project(project="shop", name="Shop 2"),
            lambda u: u.projects.update_project(project=BAD, name="x"),
        ),
        "projects.delete": (
            lambda u: u.projects.delete_project(project="shop"),
            lambda u: u.projects.delete_project(project=BAD),
        ),
        "apps.create": (
            lambda u: u.apps.create_app(
                request={"project": "shop", "name": "A", "slug": "api", "git": {}}
            ),
            lambda u: u.apps.create_app(
                request={"project": "shop", "name": "A", "slug": "API!", "git": {}}
            ),
        ),
        "apps.get": (
            lambda u: u.apps.get_app(project="shop", app="web"),
            lambda u: u.apps.get_app(project="shop", app=BAD),
        ),
        "apps.list": (
            lambda u: u.apps.list_apps(project="shop"),
            lambda u: u.apps.list_apps(project="shop", limit=101),
        ),
        "apps.update": (
            lambda u: u.apps.update_app(project="shop", app="web", name="W"),
            lambda u: u.apps.update_app(project="shop", app="web"),
        ),
        "apps.delete": (
            lambda u: u.apps.delete_app(project="shop", app="web"),
            lambda u: u.apps.delete_app(project="shop", app=BAD),
        ),
        "environments.get": (
            lambda u: u.environments.get_environment(**ENV),
            lambda u: u.environments.get_environment(**{**ENV, "environment": BAD}),
        ),
        "environments.list": (
            lambda u: u.environments.list_environments(project="shop", app="web"),
            lambda u: u.environments.list_environments(project="shop", app=BAD),
        ),
        "environments.updateSettings": (
            lambda u: u.environments.update_settings(**ENV, port=9000),
            lambda u: u.environments.update_settings(**ENV, port=0),
        ),
        "environments.setEnvironmentVariables": (
            lambda u: u.environments.set_environment_variables(
                **ENV, variables=[{"key": "A", "value": "1"}]
            ),
            lambda u: u.environments.set_environment_variables(
                **ENV, variables=[{"key": "1A", "value": "1"}]
            ),
        ),
        "environments.listEnvironmentVariables": (
            lambda u: u.environments.list_environment_variables(**ENV),
            lambda u: u.environments.list_environment_variables(**ENV, limit=0),
        ),
        "environments.removeEnvironmentVariables": (
            lambda u: u.environments.remove_environment_variables(**ENV, variables=["A"]),
            lambda u: u.environments.remove_environment_variables(**ENV, variables=[]),
        ),
        "deployments.create": (
            lambda u: u.deployments.create_deployment(
                request={**ENV, "image": {"docker_image": "dockyard/hello:v1"}}
            ),
            lambda u: u.deployments.create_deployment(
                request={**ENV, "image": {"docker_image": "Not An Image"}}
            ),
        ),
        "deployments.createV3": (
            lambda u: u.deployments.create_deployment_v3(**ENV, oci={"image": "a/b:1"}),
            lambda u: u.deployments.create_deployment_v3(**ENV, oci={"image": "Not An Image"}),
        ),
        "deployments.get": (
            lambda u: u.deployments.get_deployment(deployment_id=d),
            lambda u: u.deployments.get_deployment(deployment_id=BAD),
        ),
        "deployments.list": (
            lambda u: u.deployments.list_deployments(),
            lambda u: u.deployments.list_deployments(start_time=10, end_time=5),
        ),
        "deployments.listBuildLogs": (
            lambda u: u.deployments.list_build_logs(deployment_id=d),
            lambda u: u.deployments.list_build_logs(deployment_id=d, limit=0),
        ),
        "deployments.promote": (
            lambda u: u.deployments.promote_deployment(deployment_id=d),
            lambda u: u.deployments.promote_deployment(deployment_id=BAD),
        ),
        "deployments.rollback": (
            lambda u: u.deployments.rollback_deployment(deployment_id=d),
            lambda u: u.deployments.rollback_deployment(deployment_id=BAD),
        ),
        "deployments.start": (
            lambda u: u.deployments.start_deployment(deployment_id=d),
            lambda u: u.deployments.start_deployment(deployment_id=BAD),
        ),
        "deployments.stop": (
            lambda u: u.deployments.stop_deployment(deployment_id=d),
            lambda u: u.deployments.stop_deployment(deployment_id=BAD),
        ),
        "domains.create": (
            lambda u: u.domains.create_domain(**ENV, domain="api.acme.com"),
            lambda u: u.domains.create_domain(**ENV, domain="https://api.acme.com/"),
        ),
        "domains.get": (
            lambda u: u.domains.get_domain(domain="www.acme.com"),
            lambda u: u.domains.get_domain(domain=""),
        ),
        "domains.list": (
            lambda u: u.domains.list_domains(),
            lambda u: u.domains.list_domains(limit=0),
        ),
        "domains.verify": (
            lambda u: u.domains.verify_domain(domain="www.acme.com"),
            lambda u: u.domains.verify_domain(domain=""),
        ),
        "domains.delete": (
            lambda u: u.domains.delete_domain(domain="www.acme.com"),
            lambda u: u.domains.delete_domain(domain=""),
        ),
        "rootKeys.create": (
            lambda u: u.root_keys.create_key(permissions=["project.*.read_project"]),
            lambda u: u.root_keys.create_key(permissions=["not a permission"]),
        ),
        "rootKeys.list": (
            lambda u: u.root_keys.list_keys(),
            lambda u: u.root_keys.list_keys(limit=0),
        ),
        "rootKeys.update": (
            lambda u: u.root_keys.update_key(key_id="rk_target", name="n"),
            lambda u: u.root_keys.update_key(key_id=BAD, name="n"),
        ),
        "rootKeys.reroll": (
            lambda u: u.root_keys.reroll_key(key_id="rk_target", expiration=None),
            lambda u: u.root_keys.reroll_key(key_id="rk_target", expiration=-1),
        ),
        "rootKeys.delete": (
            lambda u: u.root_keys.delete_key(key_id="rk_target"),
            lambda u: u.root_keys.delete_key(key_id=BAD),
        ),
    }


# What a key lacking the permission gets: Unkey hides existence on these (404), lists its
# readable subset on these (an empty page), and its SDK documents no 403 for reading a
# deployment (it raises its generic APIError for the 403).
HIDDEN = {"deployments.promote", "deployments.rollback", "deployments.start"}
HIDDEN |= {"deployments.stop", "domains.create"}
FILTERED = {"rootKeys.list", "domains.list"}
UNDOCUMENTED_403 = {"deployments.get", "deployments.listBuildLogs"}


def test_every_operation_raises_each_error_class_a_caller_can_cause(
    unkey: Unkey, shop: Shop, api: RunningApi, db
) -> None:
    deployment_id = unkey.deployments.create_deployment(
        request={**ENV, "image": {"docker_image": "dockyard/hello:v1"}}
    ).data.deployment_id
    unkey.domains.create_domain(**ENV, domain="www.acme.com")
    with db() as session, session.begin():
        session.execute(update(Deployment).values(status="ready"))
        workspace_id = session.scalar(select(Workspace.id))
        target, _ = create_root_key(session, workspace_id=workspace_id, permissions=["*"])
        target.id = "rk_target"
        _, powerless = create_root_key(
            session, workspace_id=workspace_id, permissions=["workspace.*.install_github"]
        )
    calls = operations(deployment_id)
    with (
        Unkey(server_url=api.url, root_key="dy_root_unknown") as stranger,
        Unkey(server_url=api.url, root_key=powerless) as weak,
    ):
        for name, (call, malformed) in calls.items():
            with pytest.raises(errors.UnauthorizedErrorResponse):
                call(stranger)
            with pytest.raises(errors.BadRequestErrorResponse):
                malformed(unkey)
            if name in FILTERED:
                assert call(weak) is not None
                continue
            expected: type[Exception] = errors.ForbiddenErrorResponse
            if name in HIDDEN:
                expected = errors.NotFoundErrorResponse
            elif name in UNDOCUMENTED_403:
                expected = errors.APIError
            with pytest.raises(expected) as raised:
                call(weak)
            assert raised.value.raw_response.status_code in (403, 404), name
