"""What stops a delete: deleting rows under a live deployment would orphan its containers."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from api.errors import PreconditionFailed
from dockyard.deployments import IN_PROGRESS_STATUSES
from dockyard.models import Deployment, Instance

STILL_RUNNING = (
    "{what} still has a live deployment ({deployment}, {status}). Deleting it now would leave "
    "its containers running, and tearing them down on delete is not supported yet."
)


def refuse_if_running(session: Session, *where: ColumnElement[bool], what: str) -> None:
    """412 while any matching deployment is in progress, ready, or has a running instance."""
    running_instance = (
        select(Instance.id)
        .where(Instance.deployment_id == Deployment.id, Instance.status != "stopped")
        .exists()
    )
    live = session.execute(
        select(Deployment.id, Deployment.status)
        .where(
            *where,
            or_(
                Deployment.status.in_([*IN_PROGRESS_STATUSES, "ready"]),
                running_instance,
            ),
        )
        .limit(1)
    ).first()
    if live is not None:
        raise PreconditionFailed(
            STILL_RUNNING.format(what=what, deployment=live.id, status=live.status)
        )
