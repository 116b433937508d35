"""One workflow per region that keeps the watch over its instances running forever."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.watch import RegionWatch
    from dockyard.payloads import REGION_WORKFLOW, WatchRegionInput
    from workflows.options import HEARTBEAT


@workflow.defn(name=REGION_WORKFLOW)
class RegionWorkflow:
    @workflow.run
    async def run(self, request: WatchRegionInput) -> None:
        # The activity never finishes on its own; if its worker dies, the heartbeat timeout
        # hands it to another worker of the region, retrying forever.
        await workflow.execute_activity_method(
            RegionWatch.watch_region,
            request,
            task_queue=request.queues.region(request.region),
            start_to_close_timeout=timedelta(days=3650),
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
            ),
            summary=f"watch instances in region {request.region}",
        )
