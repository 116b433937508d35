"""Reading and marking deployments for rollback, promote, standby and preview archival."""

from __future__ import annotations

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from dockyard.models import Deployment, Instance, now_ms
from dockyard.payloads import DeploymentPlan, IdleCheckInput, LifecycleRequest, SetStatusInput
from dockyard.specs import RegionSpec, RuntimeSpec
from dockyard.traffic import last_request_ms

REUSABLE = frozenset({"ready", "stopped"})


class LifecycleActivities:
    def __init__(self, sessions: sessionmaker[Session], redis_url: str) -> None:
        self._sessions = sessions
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)

    @activity.defn(name="load deployment")
    def load_plan(self, request: LifecycleRequest) -> DeploymentPlan:
        with self._sessions() as session:
            deployment = session.get(Deployment, request.deployment_id)
            if deployment is None:
                raise ApplicationError(
                    f"deployment {request.deployment_id} does not exist",
                    type="not_found",
                    non_retryable=True,
                )
            if deployment.status not in REUSABLE:
                raise ApplicationError(
                    f"deployment {deployment.id} is {deployment.status}; only ready or stopped "
                    "deployments can take traffic again",
                    type="invalid_state",
                    non_retryable=True,
                )
            healthy = session.scalar(
                select(func.count()).where(
                    Instance.deployment_id == deployment.id, Instance.status == "healthy"
                )
            )
            return DeploymentPlan(
                deployment_id=deployment.id,
                environment_id=deployment.environment_id,
                image=deployment.image_digest or deployment.image or "",
                runtime=RuntimeSpec.model_validate(deployment.runtime),
                regions=[RegionSpec.model_validate(region) for region in deployment.regions],
                status=deployment.status,
                running=bool(healthy),
            )

    @activity.defn(name="set status")
    def set_status(self, request: SetStatusInput) -> None:
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, request.deployment_id)
            deployment.status = request.status
            if request.status == "stopped":
                deployment.stopped_at = now_ms()

    @activity.defn(name="read last request")
    def last_request(self, request: IdleCheckInput) -> int:
        """Unix ms of the deployment's newest request, or of when it became ready."""
        with self._sessions() as session:
            deployment = session.get_one(Deployment, request.deployment_id)
            ready_at = deployment.finished_at or deployment.created_at
        seen = last_request_ms(self._redis, request.deployment_id)
        return max(ready_at, seen or 0)
