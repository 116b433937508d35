"""Inputs and results of dockyard's workflows and activities.

One model per workflow, activity and handler, so fields can be added without breaking
running workflows. Plain data only: workflows import this module through the sandbox.
Secrets (environment variables) never travel here; activities read them from the database.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from dockyard.specs import HealthCheck, RegionSpec, RuntimeSpec

DEPLOYMENT_WORKFLOW = "DeploymentWorkflow"
ENVIRONMENT_WORKFLOW = "EnvironmentWorkflow"


class TaskQueues(BaseModel):
    """Task queue names; the prefix lets several dockyards share one Temporal cluster."""

    prefix: str = "dockyard"

    @property
    def control(self) -> str:
        return f"{self.prefix}-control"

    @property
    def build(self) -> str:
        return f"{self.prefix}-build"

    def region(self, name: str) -> str:
        return f"{self.prefix}-region-{name}"


def deployment_workflow_id(deployment_id: str) -> str:
    return f"deploy-{deployment_id}"


def environment_workflow_id(environment_id: str) -> str:
    return f"env-{environment_id}"


class DeploymentInput(BaseModel):
    """Everything the deployment workflow decides on; frozen when the deployment is created."""

    deployment_id: str
    environment_id: str
    production: bool
    queues: TaskQueues = Field(default_factory=TaskQueues)
    source: str  # image | git
    image: str | None = None
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    regions: list[RegionSpec]
    standby_time: timedelta = timedelta(minutes=30)
    preview_idle_time: timedelta = timedelta(hours=6)
    build_concurrency: int = 2
    build_timeout: timedelta = timedelta(minutes=30)


class StepUpdate(BaseModel):
    deployment_id: str
    status: str | None = None  # the deployment's new status, when it changes
    step: str | None = None
    step_status: str | None = None  # running | completed | failed | skipped
    message: str | None = None


class DeploymentFailure(BaseModel):
    deployment_id: str
    step: str
    code: str
    message: str


class BuildSlotRequest(BaseModel):
    deployment_id: str
    concurrency: int  # builds that may run at once, across every worker


class BuildSlot(BaseModel):
    """The slot is held, unless a newer deployment of the same branch came first."""

    superseded_by: str | None = None


class ReleaseBuildSlot(BaseModel):
    deployment_id: str


class BuildInput(BaseModel):
    """What to build is read from the deployment's frozen record: repository, commit, spec."""

    deployment_id: str
    timeout: timedelta


class BuiltImage(BaseModel):
    image: str  # the image id (`sha256:...`): what every instance runs
    commit_sha: str


class StartInstancesInput(BaseModel):
    deployment_id: str
    environment_id: str
    region: str
    replicas: int
    image: str
    runtime: RuntimeSpec


class InstanceRef(BaseModel):
    instance_id: str
    container_name: str
    address: str


class WaitHealthyInput(BaseModel):
    deployment_id: str
    region: str
    instances: list[InstanceRef]
    healthcheck: HealthCheck | None
    port: int


class RemoveInstancesInput(BaseModel):
    deployment_id: str
    region: str
    reason: str = "stopped"  # status the instances are left in
    grace_seconds: int = 10  # how long in-flight requests may take before the kill
    # Time for every edge to drop the instances from its table before they stop.
    propagation_seconds: float = 2.0


class AssignDomainsInput(BaseModel):
    deployment_id: str


class AssignedDomains(BaseModel):
    hostnames: list[str]


class FinalizeInput(BaseModel):
    deployment_id: str
    environment_id: str
    production: bool
    regions: list[str]
    queues: TaskQueues = Field(default_factory=TaskQueues)
    standby_time: timedelta
    preview_idle_time: timedelta


class RouteChange(BaseModel):
    """What the environment workflow did when a deployment took over its routes."""

    deployment_id: str
    previous_deployment_id: str | None = None
    took_live: bool = True
    # Unix seconds taken just after the flip committed: an edge whose routes are as of this
    # time or later serves the new ones. 0: not recorded (flipped by an older worker).
    flipped_at: float = 0.0


class EnvironmentInput(BaseModel):
    environment_id: str
    production: bool
    queues: TaskQueues = Field(default_factory=TaskQueues)
    standby_time: timedelta = timedelta(minutes=30)
    preview_idle_time: timedelta = timedelta(hours=6)


class FlipRoutesInput(BaseModel):
    environment_id: str
    deployment_id: str
    take_live: bool
    rolled_back: bool | None = None  # the app's rolled-back flag after this flip, if it changes
    # The deployment becomes `ready` in the flip's own transaction; False: later, once every
    # region's edge routes the flip (MarkReadyInput).
    mark_ready: bool = True


class WaitForRoutesInput(BaseModel):
    """Wait until the region's edge routes the environment as of the flip, or later."""

    environment_id: str
    region: str
    flipped_at: float  # RouteChange.flipped_at


class MarkReadyInput(BaseModel):
    deployment_id: str


class SetStatusInput(BaseModel):
    deployment_id: str
    status: str


class IdleCheckInput(BaseModel):
    deployment_id: str


class LifecycleRequest(BaseModel):
    """Rollback, promote, start or stop one deployment of the environment."""

    deployment_id: str


class LifecycleResult(BaseModel):
    deployment_id: str
    live_deployment_id: str | None
    rolled_back: bool
    started_instances: bool = False  # the target had to be started before it took traffic


class DeploymentPlan(BaseModel):
    """What it takes to run an existing deployment again, read from its frozen record."""

    deployment_id: str
    environment_id: str
    image: str
    runtime: RuntimeSpec
    regions: list[RegionSpec]
    status: str
    running: bool  # some instance is healthy right now


class WatchRegionInput(BaseModel):
    region: str
    queues: TaskQueues = Field(default_factory=TaskQueues)
    interval_seconds: float = 1.0


REGION_WORKFLOW = "RegionWorkflow"


def region_workflow_id(queues: TaskQueues, region: str) -> str:
    return f"{queues.prefix}-watch-{region}"


PROJECT_DELETION_WORKFLOW = "ProjectDeletionWorkflow"


def project_deletion_workflow_id(project_id: str) -> str:
    return f"delete-project-{project_id}"


class DeleteProjectInput(BaseModel):
    project_id: str
    queues: TaskQueues


class DeploymentRegions(BaseModel):
    """A deployment of the project, and every region it may have containers in."""

    deployment_id: str
    regions: list[str]


class TeardownPlan(BaseModel):
    """What deleting a project must stop before its rows go."""

    workflow_ids: list[str] = Field(default_factory=list)
    deployments: list[DeploymentRegions] = Field(default_factory=list)


class TerminateWorkflowsInput(BaseModel):
    workflow_ids: list[str]
    reason: str
