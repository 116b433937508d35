"""The deployment's record in the database: status, steps with their times, errors."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from dockyard.models import Deployment, DeploymentStep, now_ms
from dockyard.payloads import DeploymentFailure, StepUpdate

FINISHED = frozenset({"completed", "failed", "skipped"})


class DeploymentRecords:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="record progress")
    def record_progress(self, update: StepUpdate) -> None:
        with self._sessions.begin() as session:
            deployment = _deployment(session, update.deployment_id)
            if update.status:
                deployment.status = update.status
                if update.status in ("ready", "superseded"):
                    deployment.finished_at = now_ms()
            if update.step and update.step_status:
                _upsert_step(session, update)

    @activity.defn(name="record failure")
    def record_failure(self, failure: DeploymentFailure) -> None:
        with self._sessions.begin() as session:
            deployment = _deployment(session, failure.deployment_id)
            deployment.status = "failed"
            deployment.error_code = failure.code
            deployment.error_step = failure.step
            deployment.error_message = failure.message[:4000]
            deployment.finished_at = now_ms()
            _upsert_step(
                session,
                StepUpdate(
                    deployment_id=failure.deployment_id,
                    step=failure.step,
                    step_status="failed",
                    message=failure.message[:4000],
                ),
            )


def _deployment(session: Session, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise LookupError(f"deployment {deployment_id} does not exist")
    return deployment


def _upsert_step(session: Session, update: StepUpdate) -> None:
    step = session.scalar(
        select(DeploymentStep).where(
            DeploymentStep.deployment_id == update.deployment_id,
            DeploymentStep.name == update.step,
        )
    )
    if step is None:
        step = DeploymentStep(deployment_id=update.deployment_id, name=update.step)
        session.add(step)
    step.status = update.step_status or "running"
    if update.message is not None:
        step.message = update.message
    if step.status in FINISHED:
        step.finished_at = now_ms()
