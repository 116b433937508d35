"""What a root key may do: Unkey's two permission grammars, and `*` for everything.

    tuple  <resource>.<id or *>.<action>             project.*.create_project
    URN    unkey:v1:<workspace id>:<path>#<action>   unkey:v1:ws_1:rootKeys/*#read

A `*` in a held permission matches any one segment in its place (an id, a workspace, a
level of a URN path), so `environment.*.read_deployment` covers every environment and
`unkey:v1:ws_1:rootKeys/*#write` every root key. A held permission also *covers* a
requested one when it matches it segment by segment; that is how a key is kept from
granting more than it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ALL = "*"
URN_PREFIX = "unkey:v1:"
ANY = "*"

# Every tuple permission Unkey's v2 API documents, by resource. A typo in a permission
# would otherwise be stored and silently grant nothing.
TUPLE_ACTIONS: dict[str, frozenset[str]] = {
    "api": frozenset(
        {
            "create_api",
            "read_api",
            "delete_api",
            "create_key",
            "read_key",
            "update_key",
            "delete_key",
            "verify_key",
            "encrypt_key",
            "decrypt_key",
            "read_analytics",
        }
    ),
    "project": frozenset(
        {
            "create_project",
            "read_project",
            "update_project",
            "delete_project",
            "create_app",
            "read_gateway_requests",
            "read_runtime_logs",
        }
    ),
    "app": frozenset({"read_app", "update_app", "delete_app", "create_environment"}),
    "environment": frozenset(
        {
            "read_environment",
            "update_environment",
            "read_environment_variables",
            "set_environment_variables",
            "remove_environment_variables",
            "create_deployment",
            "read_deployment",
            "promote_deployment",
            "rollback_deployment",
            "start_deployment",
            "stop_deployment",
            "create_domain",
            "read_domain",
            "delete_domain",
            "verify_domain",
            "read_policies",
            "set_policies",
            "update_policy",
        }
    ),
    "identity": frozenset(
        {"create_identity", "read_identity", "update_identity", "delete_identity"}
    ),
    "ratelimit": frozenset({"limit", "set_override", "read_override", "delete_override"}),
    "rbac": frozenset(
        {
            "create_permission",
            "read_permission",
            "delete_permission",
            "create_role",
            "read_role",
            "delete_role",
            "add_permission_to_role",
            "remove_permission_from_role",
        }
    ),
    "portal": frozenset({"create_portal_session"}),
    "workspace": frozenset({"install_github"}),
}
# The collections a URN path may name (`rootKeys/<id>`, `projects/<id>/apps/<id>/...`).
URN_COLLECTIONS = frozenset(
    {
        "rootKeys",
        "projects",
        "apps",
        "environments",
        "deployments",
        "buildLogs",
        "keyspaces",
        "keys",
        "portals",
        "sessions",
        "rbac",
        "permissions",
        "roles",
        "limits",
        "usage",
    }
)

_ID = r"[A-Za-z0-9_-]+|\*"
_TUPLE = re.compile(rf"^(?P<resource>[a-z]+)\.(?P<id>{_ID})\.(?P<action>[a-z_]+)$")
_URN = re.compile(
    rf"^unkey:v1:(?P<workspace>{_ID}):(?P<path>[A-Za-z0-9_*/-]+)#(?P<action>[a-z_]+|\*)$"
)

NOT_A_PERMISSION = (
    "is not a permission dockyard knows: use `*`, a tuple such as "
    "`project.*.read_project`, or a URN such as `unkey:v1:{workspace}:rootKeys/*#read`"
)
UNKNOWN_ACTION = "is not a known permission: `{resource}` has no action `{action}`"
OTHER_WORKSPACE = "names workspace `{named}`, but this root key belongs to `{workspace}`"


def problem(permission: str, *, workspace_id: str) -> str | None:
    """Why `permission` cannot be granted in this workspace, or None when it can."""
    if permission == ALL:
        return None
    found = _TUPLE.match(permission)
    if found:
        actions = TUPLE_ACTIONS.get(found["resource"])
        if actions is None or found["action"] not in actions:
            return UNKNOWN_ACTION.format(resource=found["resource"], action=found["action"])
        return None
    found = _URN.match(permission)
    if found is None:
        return NOT_A_PERMISSION.format(workspace=workspace_id)
    if found["workspace"] not in (workspace_id, ANY):
        return OTHER_WORKSPACE.format(named=found["workspace"], workspace=workspace_id)
    collections = found["path"].split("/")[::2]
    if "" in found["path"].split("/") or not set(collections) <= URN_COLLECTIONS:
        return NOT_A_PERMISSION.format(workspace=workspace_id)
    return None


def grants(held: str, wanted: str) -> bool:
    """Whether one held permission allows (or, for a wildcard `wanted`, covers) `wanted`."""
    if held == ALL:
        return True
    if wanted == ALL:
        return False
    return _segments_match(_segments(held), _segments(wanted))


def grants_any(held: Iterable[str], wanted: Iterable[str]) -> bool:
    held = list(held)
    return any(grants(permission, one) for one in wanted for permission in held)


def urn(workspace_id: str, path: str, action: str) -> str:
    return f"{URN_PREFIX}{workspace_id}:{path}#{action}"


def _segments(permission: str) -> tuple[str, ...] | None:
    found = _TUPLE.match(permission)
    if found:
        return ("tuple", found["resource"], found["id"], found["action"])
    found = _URN.match(permission)
    if found:
        return ("urn", found["workspace"], *found["path"].split("/"), "#", found["action"])
    return None


def _segments_match(held: tuple[str, ...] | None, wanted: tuple[str, ...] | None) -> bool:
    if held is None or wanted is None or len(held) != len(wanted):
        return False
    return all(h in (w, ANY) for h, w in zip(held, wanted, strict=True))
