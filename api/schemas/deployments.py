"""deployments.*: one immutable rollout of an image to an environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from api.deployment_state import (
    DeploymentAction,
    DeploymentErrorCode,
    DeploymentStatus,
    ReportedTrigger,
    TriggerVia,
)
from api.image_reference import check_image_reference
from api.schemas.apps import Branch, Repository
from api.schemas.base import Cursor, Input, Limit, Output, ResourceIdentifier
from api.schemas.environments import RuntimeOut

ImageReference = Annotated[str, AfterValidator(check_image_reference)]
CommitSha = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{4,40}$")]
EXACTLY_ONE_SOURCE = (
    "provide exactly one source: `image` (a pre-built image), `deployment` (re-run an "
    "earlier deployment) or `git`"
)


AT_MOST_ONE_SOURCE = "provide at most one source: `oci`, `deployment` or `git`"


class ImageSource(Input):
    docker_image: ImageReference


class GitSource(Input):
    """Alone: build this commit (or the branch's head) of the app's repository, or of
    `repository` with `commitSha`. Beside `image`, a dockyard extension: where the image
    was built from (domains, display)."""

    branch: Branch | None = None
    commit_sha: CommitSha | None = None
    repository: Repository | None = None
    commit_message: Annotated[str, StringConstraints(max_length=4096)] | None = None


class DeploymentSource(Input):
    deployment_id: ResourceIdentifier


class CreateDeployment(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier
    image: ImageSource | None = None
    git: GitSource | None = None
    deployment: DeploymentSource | None = None
    # dockyard extension; SDK callers, which cannot add body fields, send X-Dockyard-Trigger.
    trigger: ReportedTrigger | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CreateDeployment:
        if self.image is not None and self.deployment is None:
            return self
        if self.deployment is not None and self.image is None and self.git is None:
            return self
        if self.git is not None and self.image is None and self.deployment is None:
            return self
        raise ValueError(EXACTLY_ONE_SOURCE)


class OciSource(Input):
    image: ImageReference


class CreateDeploymentV3(Input):
    """`POST /v3/deployments.createDeployment`: at most one source; none deploys the app's
    default (an OCI app's image, a git app's default branch)."""

    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier
    git: GitSource | None = None
    oci: OciSource | None = None
    deployment: DeploymentSource | None = None

    @model_validator(mode="after")
    def _at_most_one_source(self) -> CreateDeploymentV3:
        sources = [s for s in (self.git, self.oci, self.deployment) if s is not None]
        if len(sources) > 1:
            raise ValueError(AT_MOST_ONE_SOURCE)
        return self


class GetDeployment(Input):
    deployment_id: ResourceIdentifier


class ListDeployments(Input):
    project: ResourceIdentifier | None = None
    app: ResourceIdentifier | None = None
    environment: ResourceIdentifier | None = None
    status: Annotated[list[DeploymentStatus], Field(max_length=13)] | None = None
    branch: Annotated[list[Branch], Field(max_length=100)] | None = None
    start_time: Annotated[int, Field(ge=0)] | None = None
    end_time: Annotated[int, Field(ge=0)] | None = None
    limit: Limit = 100
    cursor: Cursor | None = None

    @model_validator(mode="after")
    def _time_window(self) -> ListDeployments:
        start, end = self.start_time, self.end_time
        if start is not None and end is not None and end <= start:
            raise ValueError("endTime must be later than startTime")
        return self


class DeploymentCreated(Output):
    deployment_id: str


class TriggerOut(Output):
    via: TriggerVia


class GitAuthorOut(Output):
    handle: str
    avatar_url: str | None = None


class GitOut(Output):
    commit_sha: str
    branch: str | None = None
    commit_message: str | None = None
    commit_timestamp: int | None = None
    author: GitAuthorOut | None = None


class DockerOut(Output):
    image: str
    resolved_image: str | None = None


class ErrorOut(Output):
    code: DeploymentErrorCode
    step: str
    message: str


class StepOut(Output):
    """dockyard extension: one phase of the deployment workflow and when it ran."""

    name: str
    status: str  # running | completed | failed | skipped
    message: str | None = None
    started_at: int
    finished_at: int | None = None


class RegionStatusOut(Output):
    """dockyard extension: how the deployment stands in one of its regions."""

    region: str
    # ready | starting | pending (no instance yet) | failed | unavailable (the region's
    # host did not answer) | or what its instances are: stopped, draining, ...
    status: str
    instances: dict[str, int]  # instance status -> how many
    message: str | None = None


class DeploymentOut(Output):
    id: str
    status: DeploymentStatus
    is_current: bool
    environment: str
    app: str
    project: str
    trigger: TriggerOut
    available_actions: list[DeploymentAction]
    regions: list[str]
    runtime: RuntimeOut
    created_at: int
    git: GitOut | None = None
    docker: DockerOut | None = None
    error: ErrorOut | None = None
    finished_at: int | None = None
    domains: list[str] | None = None
    updated_at: int | None = None
    # dockyard extensions, in deployments.getDeployment only. Unkey's SDKs ignore fields
    # they do not know, so they still parse the response.
    steps: list[StepOut] | None = None
    region_status: list[RegionStatusOut] | None = None
