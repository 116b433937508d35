"""The worker's Prometheus metrics, taken by a Temporal worker interceptor around every
activity: no activity counts anything itself.

Series (served by worker.py on 127.0.0.1:DOCKYARD_WORKER_METRICS_PORT):
    dockyard_activity_executions_total{activity, outcome}   completed | failed | cancelled;
        each attempt counts, so retries show as failures followed by a completion
    dockyard_activity_failures_total{activity, error}        error: the ApplicationError's
        type, else the exception's class
    dockyard_activity_duration_seconds{activity}             histogram, every attempt
    dockyard_build_duration_seconds{outcome}                 the `build image` activity
    dockyard_deployment_phases_total{phase}                  deployments entering a phase:
        building, deploying, network, finalizing, ready, failed, superseded
    dockyard_deployment_duration_seconds{outcome}            creation to ready, failed or
        superseded, as the deployment's row records it

The deployment series come from the activities that write a deployment's status
(activities.records, activities.routes), seen from outside: their input says the phase,
and the row says when the deployment was created and finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from dockyard.models import Deployment
from dockyard.payloads import DeploymentFailure, MarkReadyInput, StepUpdate

BUILD_ACTIVITY = "build image"
# Seconds: activities from a database write to a health wait; builds up to their timeout.
ACTIVITY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LONG_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
log = logging.getLogger(__name__)

FINISHED = frozenset({"ready", "failed", "superseded"})


class WorkerMetrics:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.registry = CollectorRegistry(auto_describe=False)

        def counter(name: str, text: str, labels: list[str]) -> Counter:
            return Counter(name, text, labels, registry=self.registry)

        def histogram(name: str, text: str, labels: list[str], buckets: Any) -> Histogram:
            return Histogram(name, text, labels, buckets=buckets, registry=self.registry)

        self.executions = counter(
            "dockyard_activity_executions",
            "Activity attempts, by outcome.",
            ["activity", "outcome"],
        )
        self.failures = counter(
            "dockyard_activity_failures",
            "Failed activity attempts, by error.",
            ["activity", "error"],
        )
        self.duration = histogram(
            "dockyard_activity_duration_seconds",
            "How long activity attempts took.",
            ["activity"],
            ACTIVITY_BUCKETS,
        )
        self.builds = histogram(
            "dockyard_build_duration_seconds",
            "How long image builds took, by outcome.",
            ["outcome"],
            LONG_BUCKETS,
        )
        self.phases = counter(
            "dockyard_deployment_phases", "Deployments entering each phase.", ["phase"]
        )
        self.deployments = histogram(
            "dockyard_deployment_duration_seconds",
            "From a deployment's creation to its end, by how it ended.",
            ["outcome"],
            LONG_BUCKETS,
        )

    def interceptor(self) -> Interceptor:
        return MetricsInterceptor(self)

    def saw_phase(self, deployment_id: str, phase: str) -> None:
        """A deployment entered a phase (called after the activity wrote it)."""
        self.phases.labels(phase).inc()
        if phase not in FINISHED:
            return
        with self.sessions() as session:
            times = session.execute(
                select(Deployment.created_at, Deployment.finished_at).where(
                    Deployment.id == deployment_id
                )
            ).first()
        if times is not None and times.finished_at is not None:
            seconds = max(0.0, (times.finished_at - times.created_at) / 1000)
            self.deployments.labels(phase).observe(seconds)


def phase_of(args: Sequence[Any]) -> tuple[str, str] | None:
    """(deployment id, phase) when this activity moves a deployment into a phase."""
    argument = args[0] if args else None
    if isinstance(argument, StepUpdate) and argument.status:
        return argument.deployment_id, argument.status
    if isinstance(argument, MarkReadyInput):
        return argument.deployment_id, "ready"
    if isinstance(argument, DeploymentFailure):
        return argument.deployment_id, "failed"
    return None


def error_name(error: BaseException) -> str:
    if isinstance(error, ApplicationError) and error.type:
        return error.type
    return type(error).__name__


class MetricsInterceptor(Interceptor):
    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Measured(next, self.metrics)


class _Measured(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: WorkerMetrics) -> None:
        super().__init__(next)
        self.metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        started = perf_counter()
        outcome = "failed"
        try:
            result = await super().execute_activity(input)
            outcome = "completed"
        except (asyncio.CancelledError, CancelledError):  # async and sync activities
            outcome = "cancelled"
            raise
        except BaseException as error:
            self.metrics.failures.labels(name, error_name(error)).inc()
            raise
        finally:
            self._record(name, outcome, perf_counter() - started)
        moved = phase_of(input.args)
        if moved is not None:
            await asyncio.to_thread(self._saw_phase, *moved)
        return result

    def _record(self, name: str, outcome: str, seconds: float) -> None:
        self.metrics.executions.labels(name, outcome).inc()
        self.metrics.duration.labels(name).observe(seconds)
        if name == BUILD_ACTIVITY:
            self.metrics.builds.labels(outcome).observe(seconds)

    def _saw_phase(self, deployment_id: str, phase: str) -> None:
        """Counting must never fail an activity that succeeded (the database may blink)."""
        try:
            self.metrics.saw_phase(deployment_id, phase)
        except Exception as error:
            log.warning("deployment %s entering %s not measured: %s", deployment_id, phase, error)
