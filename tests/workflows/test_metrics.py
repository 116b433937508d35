"""The worker's /metrics, from the real workers of worker.py with the metrics interceptor:
activity attempts and failures, deployments by phase and duration; and the Temporal SDK's
own exporter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import generate_latest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from activities.metrics import BUILD_ACTIVITY, WorkerMetrics, _Measured
from dockyard.metrics import sdk_runtime, serve_metrics
from dockyard.settings import Settings
from dockyard.temporal import connect
from tests.api.conftest import free_port
from tests.metrics_scrape import parse, scrape, total, value
from tests.seed import seed_app
from tests.workflows.test_deployment import deploy
from worker import build_workers


@pytest.fixture
async def metrics_url(
    temporal_client: Client, settings: Settings, sessions: sessionmaker[Session]
) -> AsyncIterator[str]:
    """worker.py's workers on this test's queues, measured, with /metrics on loopback."""
    metrics = WorkerMetrics(sessions)
    port = free_port()
    server = serve_metrics(metrics.registry, port)
    with ThreadPoolExecutor(max_workers=16) as executor:
        running = build_workers(
            temporal_client, settings, executor, interceptors=[metrics.interceptor()]
        )
        tasks = [asyncio.create_task(worker.run()) for worker in running]
        yield f"http://127.0.0.1:{port}/metrics"
        await asyncio.gather(*(worker.shutdown() for worker in running))
        await asyncio.gather(*tasks, return_exceptions=True)
    server.shutdown()


async def test_deployments_and_activities_are_counted(
    metrics_url: str,
    temporal_client: Client,
    sessions: sessionmaker[Session],
    settings: Settings,
    demo_images: dict[str, str],
) -> None:
    seeded = seed_app(sessions)
    ready = await deploy(temporal_client, sessions, settings, seeded, demo_images["v1"])
    failed = await deploy(temporal_client, sessions, settings, seeded, "dockyard/missing:nope")
    assert (ready.status, failed.status) == ("ready", "failed")

    samples = await scrape(metrics_url)
    phases = "dockyard_deployment_phases_total"
    assert value(samples, phases, phase="deploying") == 2
    assert value(samples, phases, phase="ready") == 1
    assert value(samples, phases, phase="failed") == 1
    durations = "dockyard_deployment_duration_seconds_count"
    assert value(samples, durations, outcome="ready") == 1
    assert value(samples, durations, outcome="failed") == 1
    seconds = value(samples, "dockyard_deployment_duration_seconds_sum", outcome="ready")
    assert 0 < seconds < 120
    executions = "dockyard_activity_executions_total"
    assert value(samples, executions, activity="mark ready", outcome="completed") == 1
    assert value(samples, executions, activity="record failure", outcome="completed") == 1
    failures = total(samples, executions, outcome="failed")
    assert failures >= 1, "the missing image fails an activity"
    assert total(samples, "dockyard_activity_failures_total") == failures
    attempts = total(samples, executions)
    assert total(samples, "dockyard_activity_duration_seconds_count") == attempts


async def test_the_temporal_sdk_serves_its_own_metrics(
    settings: Settings, temporal_address: str
) -> None:
    port = free_port()
    runtime = sdk_runtime(port)
    assert runtime is not None
    address = {"temporal_address": temporal_address}
    client = await connect(settings.model_copy(update=address), runtime=runtime)
    await client.count_workflows()
    samples = await scrape(f"http://127.0.0.1:{port}/metrics")
    assert any(name.startswith("temporal_") for name, _ in samples)


def test_no_port_serves_nothing() -> None:
    assert sdk_runtime(0) is None
    assert serve_metrics(WorkerMetrics(None).registry, 0) is None  # type: ignore[arg-type]


def test_build_attempts_are_timed_by_outcome() -> None:
    metrics = WorkerMetrics(None)  # type: ignore[arg-type]
    measured = _Measured(None, metrics)  # type: ignore[arg-type]
    measured._record(BUILD_ACTIVITY, "completed", 42.0)
    measured._record(BUILD_ACTIVITY, "failed", 3.0)
    measured._record("mark ready", "completed", 0.01)
    samples = parse(generate_latest(metrics.registry).decode())
    assert value(samples, "dockyard_build_duration_seconds_sum", outcome="completed") == 42.0
    assert value(samples, "dockyard_build_duration_seconds_count", outcome="failed") == 1
    assert total(samples, "dockyard_build_duration_seconds_count") == 2
