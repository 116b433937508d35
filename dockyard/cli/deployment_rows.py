"""How `dockyard deployments list` shows each deployment: where it came from, how old it
is, and where production's live traffic stands."""

from __future__ import annotations

from typing import Any

from dockyard.cli.listing import ago

HEADERS = ("deployment", "app", "env", "status", "source", "age", "traffic")
LIVE = "live"
ROLLED_BACK_TO = "live, rolled back to"
ROLLED_BACK_FROM = "rolled back from"


def source(deployment: dict[str, Any]) -> str | None:
    """The image it runs, else the commit it was built from (with its branch)."""
    image = (deployment.get("docker") or {}).get("image")
    if image:
        return str(image)
    git = deployment.get("git") or {}
    if not git.get("commitSha"):
        return None
    branch = f" ({git['branch']})" if git.get("branch") else ""
    return f"{git['commitSha'][:7]}{branch}"


def _environment(deployment: dict[str, Any]) -> tuple[str, str, str]:
    return deployment["project"], deployment["app"], deployment["environment"]


def traffic(deployments: list[dict[str, Any]]) -> dict[str, str]:
    """Markers by deployment id: the live one, and while an app is rolled back (its live
    deployment offers `promote`), that one as rolled back to and each newer one that could
    serve again as rolled back from."""
    rolled_back_to = {
        _environment(d): d
        for d in deployments
        if d.get("isCurrent") and "promote" in d.get("availableActions", [])
    }
    markers = {}
    for deployment in deployments:
        target = rolled_back_to.get(_environment(deployment))
        if deployment.get("isCurrent"):
            markers[deployment["id"]] = ROLLED_BACK_TO if target else LIVE
        elif (
            target is not None
            and deployment["createdAt"] > target["createdAt"]
            and "promote" in deployment.get("availableActions", [])
        ):
            markers[deployment["id"]] = ROLLED_BACK_FROM
    return markers


def rows(deployments: list[dict[str, Any]], now_ms: int | None = None) -> list[tuple[Any, ...]]:
    markers = traffic(deployments)
    return [
        (
            d["id"],
            d["app"],
            d["environment"],
            d["status"],
            source(d),
            ago(d.get("createdAt"), now_ms),
            markers.get(d["id"], ""),
        )
        for d in deployments
    ]
