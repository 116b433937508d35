"""Starts dockyard's Temporal workers: the control queue, the build queue and one queue per
region.

python worker.py                        # control and build queues and every configured region
python worker.py --region eu            # only the region queue, beside that region's Docker host
python worker.py --region eu --control  # the control and build queues, and region eu only
python worker.py --control              # the control and build queues only (regions elsewhere)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Interceptor, Worker

from activities.build import BuildActivities
from activities.build_queue import BuildQueue
from activities.domains import DomainActivities
from activities.edge import EdgeActivities
from activities.instances import InstanceActivities
from activities.lifecycle import LifecycleActivities
from activities.metrics import WorkerMetrics
from activities.records import DeploymentRecords
from activities.routes import RouteActivities
from activities.teardown import ProjectTeardown
from activities.watch import RegionWatch
from dockyard.crypto import SecretBox
from dockyard.db import make_engine, make_sessionmaker, migrate
from dockyard.events import Events
from dockyard.log_capture import RuntimeLogCollector
from dockyard.metrics import sdk_runtime, serve_metrics
from dockyard.payloads import (
    REGION_WORKFLOW,
    TaskQueues,
    WatchRegionInput,
    region_workflow_id,
)
from dockyard.runtime import DockerRuntime
from dockyard.settings import Settings, load_settings
from dockyard.temporal import connect, register_search_attributes
from workflows.deployment import DeploymentWorkflow
from workflows.environment import EnvironmentWorkflow
from workflows.project import ProjectDeletionWorkflow
from workflows.region import RegionWorkflow

log = logging.getLogger("dockyard.worker")
CONNECT_ATTEMPTS = 60


def build_workers(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor,
    *,
    control: bool = True,
    regions: list[str] | None = None,
    log_collector: RuntimeLogCollector | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> list[Worker]:
    sessions = make_sessionmaker(make_engine(settings.database_url))
    events = Events(settings.redis_url)
    queues = TaskQueues(prefix=settings.task_queue_prefix)
    workers = []
    if control:
        records = DeploymentRecords(sessions)
        domains = DomainActivities(sessions, settings.apex_domain)
        routes = RouteActivities(sessions, events, settings.apex_domain, client)
        lifecycle = LifecycleActivities(sessions, settings.redis_url)
        build_queue = BuildQueue(sessions)
        teardown = ProjectTeardown(sessions, events, client)
        workers.append(
            Worker(
                client,
                task_queue=queues.control,
                workflows=[
                    DeploymentWorkflow,
                    EnvironmentWorkflow,
                    RegionWorkflow,
                    ProjectDeletionWorkflow,
                ],
                activities=[
                    records.record_progress,
                    records.record_failure,
                    domains.assign_domains,
                    routes.finalize,
                    routes.flip_routes,
                    routes.mark_ready,
                    lifecycle.load_plan,
                    lifecycle.set_status,
                    lifecycle.last_request,
                    build_queue.wait_for_slot,
                    build_queue.release_slot,
                    teardown.plan,
                    teardown.terminate,
                    teardown.delete_rows,
                ],
                activity_executor=executor,
                interceptors=interceptors,
            )
        )
        builds = BuildActivities(sessions, settings.home)
        workers.append(
            Worker(
                client,
                task_queue=queues.build,
                activities=[builds.build],
                # The queue already bounds builds across workers; this bounds this one.
                max_concurrent_activities=settings.build_concurrency,
                interceptors=interceptors,
            )
        )
    runtime = DockerRuntime(
        owner=settings.task_queue_prefix,
        before_remove=log_collector.drain if log_collector is not None else None,
        publish_host=settings.instance_bind_host,
    )
    box = SecretBox(settings.secret_key)
    instances = InstanceActivities(sessions, runtime, box, events, settings.instance_host)
    watch = RegionWatch(sessions, runtime, box, events, settings.instance_host)
    edge = EdgeActivities(settings.edge_control_url)
    for region in settings.regions if regions is None else regions:
        workers.append(
            Worker(
                client,
                task_queue=queues.region(region),
                activities=[
                    instances.start_instances,
                    instances.wait_healthy,
                    instances.remove_instances,
                    watch.watch_region,
                    edge.wait_for_routes,
                ],
                activity_executor=executor,
                interceptors=interceptors,
            )
        )
    return workers


async def start_region_watches(client: Client, settings: Settings, regions: list[str]) -> None:
    """Each region's watch runs in its own workflow; starting it again is a no-op."""
    queues = TaskQueues(prefix=settings.task_queue_prefix)
    for region in regions:
        await client.start_workflow(
            REGION_WORKFLOW,
            WatchRegionInput(region=region, queues=queues),
            id=region_workflow_id(queues, region),
            task_queue=queues.control,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


def runtime_log_collector(settings: Settings, regions: list[str]) -> RuntimeLogCollector:
    """What the apps of these regions print, captured into the database."""
    return RuntimeLogCollector(
        make_sessionmaker(make_engine(settings.database_url)),
        owner=settings.task_queue_prefix,
        regions=regions,
        retention=settings.runtime_log_retention,
        max_lines=settings.runtime_log_max_lines,
    )


async def connect_with_retry(settings: Settings) -> Client:
    runtime = sdk_runtime(settings.worker_sdk_metrics_port)
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return await connect(settings, runtime=runtime)
        except RuntimeError as error:
            if attempt == CONNECT_ATTEMPTS:
                raise
            log.info("waiting for Temporal at %s: %s", settings.temporal_address, error)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def serve(settings: Settings, *, region: str | None, control: bool = False) -> None:
    """`region`: serve only that region's queue (and, with `control`, the control and build
    queues too); None: every queue, or with `control` the control and build queues only."""
    migrate(make_engine(settings.database_url))
    client = await connect_with_retry(settings)
    await register_search_attributes(client, settings.temporal_namespace)
    served = [region] if region else [] if control else settings.regions
    collector = runtime_log_collector(settings, served)
    metrics = WorkerMetrics(make_sessionmaker(make_engine(settings.database_url)))
    metrics_server = serve_metrics(metrics.registry, settings.worker_metrics_port)
    with ThreadPoolExecutor(max_workers=32) as executor, collector.running():
        workers = build_workers(
            client,
            settings,
            executor,
            control=control or region is None,
            regions=served,
            log_collector=collector,
            interceptors=[metrics.interceptor()],
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with _running(workers):
            await start_region_watches(client, settings, served)
            queues = ", ".join(worker.task_queue for worker in workers)
            log.info("worker polling %s", queues)
            await stop.wait()
    if metrics_server is not None:
        metrics_server.shutdown()


class _running:
    """Run several workers together and shut them all down on exit."""

    def __init__(self, workers: list[Worker]) -> None:
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> None:
        self._tasks = [asyncio.create_task(worker.run()) for worker in self._workers]

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(worker.shutdown() for worker in self._workers))
        await asyncio.gather(*self._tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", help="serve only this region's task queue")
    parser.add_argument(
        "--control",
        action="store_true",
        help="serve the control and build queues; with --region, that region's too (a control "
        "plane that is also one region's host, while other regions run on hosts of their own)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per edge status poll
    asyncio.run(serve(load_settings(), region=args.region, control=args.control))


if __name__ == "__main__":
    main()
