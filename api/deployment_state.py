"""How a deployment's stored state reads in Unkey's vocabulary.

dockyard's statuses, error codes and triggers are a superset of Unkey's enums, and Unkey's
SDKs reject a value outside them, so every value leaving the API is mapped here.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

DeploymentStatus = Literal[
    "pending",
    "starting",
    "building",
    "deploying",
    "network",
    "finalizing",
    "ready",
    "failed",
    "skipped",
    "awaiting_approval",
    "stopped",
    "superseded",
    "cancelled",
]
DeploymentAction = Literal["promote", "rollback", "stop", "start"]
DeploymentErrorCode = Literal[
    "no_schedulable_regions",
    "invalid_runtime_settings",
    "cpu_quota_exceeded",
    "memory_quota_exceeded",
    "storage_quota_exceeded",
    "build_failed",
    "unknown",
]
TriggerVia = Literal["unknown", "github", "api", "cli", "dashboard", "unkey"]
# Triggers a caller may report when it creates a deployment.
ReportedTrigger = Literal["api", "cli", "dashboard", "github"]

UNKEY_STATUSES: frozenset[str] = frozenset(get_args(DeploymentStatus))
UNKEY_ERROR_CODES: frozenset[str] = frozenset(get_args(DeploymentErrorCode))
UNKEY_TRIGGERS: frozenset[str] = frozenset(get_args(TriggerVia))
REPORTED_TRIGGERS: tuple[str, ...] = get_args(ReportedTrigger)
# dockyard's own statuses, as the nearest status Unkey knows.
STATUS_ALIASES = {"queued": "pending"}
# A deployment that can serve again: ready (live or on standby), or stopped after it.
# Not `superseded`: a newer push replaced it while it waited to build, so it has no image.
RESUMABLE = frozenset({"ready", "stopped"})


def unkey_status(status: str) -> DeploymentStatus:
    status = STATUS_ALIASES.get(status, status)
    if status in UNKEY_STATUSES:
        return cast(DeploymentStatus, status)
    return "pending"


def stored_statuses(statuses: list[str]) -> set[str]:
    """The stored statuses a filter on Unkey's statuses selects (`pending` includes `queued`)."""
    selected = set(statuses)
    selected.update(alias for alias, target in STATUS_ALIASES.items() if target in selected)
    return selected


def unkey_error_code(code: str | None) -> DeploymentErrorCode:
    if code in UNKEY_ERROR_CODES:
        return cast(DeploymentErrorCode, code)
    return "unknown"


def error_message(code: str | None, message: str | None) -> str:
    """Unkey's enum hides dockyard's own codes (image_not_found, ...): keep them readable."""
    text = message or "the deployment failed"
    if code and code not in UNKEY_ERROR_CODES and not text.startswith(f"{code}:"):
        return f"{code}: {text}"
    return text


def trigger_via(trigger: str | None) -> TriggerVia:
    if trigger in UNKEY_TRIGGERS:
        return cast(TriggerVia, trigger)
    return "unknown"


def available_actions(
    *,
    status: str,
    production: bool,
    is_current: bool,
    app_rolled_back: bool,
    has_current: bool,
) -> list[DeploymentAction]:
    """What may be called on the deployment now, following Unkey's rules.

    Production: any deployment that can serve again, other than the current one, may be
    promoted or rolled back to; promoting the current one confirms a rollback. Preview:
    a ready deployment may be stopped and a stopped one started.
    """
    if production:
        if is_current:
            return ["promote"] if app_rolled_back else []
        if status in RESUMABLE and has_current:
            return ["promote", "rollback"]
        return []
    if status == "ready":
        return ["stop"]
    if status == "stopped":
        return ["start"]
    return []


NOT_PRODUCTION = (
    "Deployment '{id}' belongs to the {kind} environment '{environment}'; "
    "{action} works on production deployments only."
)
PRODUCTION_ONLY_RUNS = (
    "Deployment '{id}' is a production deployment: production deployments are never "
    "stopped or started, only promoted or rolled back to."
)
ALREADY_CURRENT = "Deployment '{id}' is already the current deployment."
NO_CURRENT = "The app has no current deployment to {action} from yet; deploy once first."
CANNOT_SERVE = (
    "Deployment '{id}' is {status}: only a ready, standby or stopped deployment can be {done}."
)
NOT_RUNNING = "Deployment '{id}' is {status}, not running: only a ready deployment can be stopped."
NOT_STOPPED = (
    "Deployment '{id}' is {status}, not stopped: only a stopped deployment can be started."
)
PAST_TENSE = {"promote": "promoted", "rollback": "rolled back to"}


def refusal(
    action: DeploymentAction,
    *,
    deployment_id: str,
    status: str,
    environment: str,
    production: bool,
    is_current: bool,
    app_rolled_back: bool,
    has_current: bool,
) -> str | None:
    """Why `action` is not available now (Unkey's 412), or None when it is.

    Decided by `available_actions`, so what getDeployment offers and what these endpoints
    accept never disagree; this only finds the words.
    """
    offered = available_actions(
        status=status,
        production=production,
        is_current=is_current,
        app_rolled_back=app_rolled_back,
        has_current=has_current,
    )
    if action in offered:
        return None
    shown = unkey_status(status)
    if action in ("start", "stop"):
        if production:
            return PRODUCTION_ONLY_RUNS.format(id=deployment_id)
        template = NOT_RUNNING if action == "stop" else NOT_STOPPED
        return template.format(id=deployment_id, status=shown)
    if not production:
        return NOT_PRODUCTION.format(
            id=deployment_id, kind="preview", environment=environment, action=action
        )
    if is_current:
        return ALREADY_CURRENT.format(id=deployment_id)
    if not has_current:
        return NO_CURRENT.format(action=action)
    return CANNOT_SERVE.format(id=deployment_id, status=shown, done=PAST_TENSE[action])
