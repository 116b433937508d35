"""Activity options the workflows share: how long a step may take, how often it is retried.

Values only, no I/O: every workflow module imports it, through the sandbox like the
activities it schedules.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.health import startup_deadline_seconds
    from dockyard.specs import HealthCheck

# A deployment's own steps: five attempts, then the step fails and the deployment ends
# `failed` (nothing that serves traffic has changed).
DEPLOY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5)
# An environment's route flips, starts and stops, and the reads behind them: ten attempts,
# then the rollback, promote, start or stop fails and says why.
ENVIRONMENT_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)
# Deleting a project: unbounded attempts, since a project half torn down is worse than a
# teardown that waits for the database or a region's worker to come back.
TEARDOWN_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)

# One database transaction or one call to a service.
QUICK = timedelta(seconds=30)
# Starting a region's instances, pulling the image first when the host lacks it.
STARTUP = timedelta(minutes=5)
# Draining and removing a region's instances.
REMOVAL = timedelta(minutes=2)
# Activities heartbeat every second: a worker killed mid-activity is noticed this fast.
HEARTBEAT = timedelta(seconds=10)
# A region's work that no worker of the region picks up within this is not waited for: its
# host (engine, worker or the link to it) is down, and the deployment says so instead of
# hanging. Not retried: Temporal never retries a schedule-to-start timeout.
REGION_PICKUP = timedelta(seconds=30)


def health_wait(check: HealthCheck | None) -> timedelta:
    """How long waiting for health may take: the instances' own deadline, plus a minute so
    that the activity's own answer (which instance, and why), not a timeout, ends it."""
    return timedelta(seconds=startup_deadline_seconds(check)) + timedelta(minutes=1)
