"""Building: the app's source at its exact commit, built into an image by Docker.

Runs on the build task queue, on a worker beside a Docker engine that can reach the
region hosts' images (one machine here). Every line git and docker print is written to
the build log as it is printed. The activity heartbeats every second; a worker killed
mid-build is noticed within the heartbeat timeout and the build starts over on the next
attempt, from an empty directory, with the log saying so.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.build_queue import touch
from activities.instances import failure
from dockyard import build_logs
from dockyard.builder import BuildFailed, BuildLine, ImageBuild
from dockyard.git import Checkout, SourceError, inside
from dockyard.models import Deployment
from dockyard.payloads import BuildInput, BuiltImage
from dockyard.specs import BuildSpec

BUILD_FAILED = "build_failed"
HEARTBEAT_SECONDS = 1.0
TOUCH_SECONDS = 15.0
QUOTED_LINES = 20
TIMED_OUT = "the build did not finish within {minutes:g} minutes (DOCKYARD_BUILD_TIMEOUT)"
NO_DOCKERFILE = "there is no Dockerfile at {path!r} (the environment's dockerfile setting)"
RESTARTED = "--- the previous build attempt stopped with its worker; building again (attempt {n})"


@dataclass(frozen=True)
class _Source:
    """What the deployment's record says to build."""

    app_id: str
    repository: str
    branch: str | None
    commit_sha: str | None
    spec: BuildSpec


class BuildActivities:
    def __init__(self, sessions: sessionmaker[Session], home: Path) -> None:
        self._sessions = sessions
        self._builds = home / "builds"

    @activity.defn(name="build image")
    async def build(self, request: BuildInput) -> BuiltImage:
        job = _BuildJob(self._sessions, self._builds / request.deployment_id, request)
        work = asyncio.ensure_future(asyncio.to_thread(job.run, activity.info().attempt))
        deadline = time.monotonic() + request.timeout.total_seconds()
        touched = time.monotonic()
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=HEARTBEAT_SECONDS)
                activity.heartbeat()
                if time.monotonic() > deadline and not job.timed_out:
                    job.stop(timed_out=True)
                if time.monotonic() - touched > TOUCH_SECONDS:
                    await asyncio.to_thread(self._touch, request.deployment_id)
                    touched = time.monotonic()
            return await work
        except asyncio.CancelledError:
            job.stop(timed_out=False)  # the workflow gave up: the engine stops building too
            raise

    def _touch(self, deployment_id: str) -> None:
        with self._sessions.begin() as session:
            touch(session, deployment_id)


class _BuildJob:
    """The blocking part, in a thread: fetch, build, record. `stop` may come from outside."""

    def __init__(
        self, sessions: sessionmaker[Session], directory: Path, request: BuildInput
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self._request = request
        self._lock = threading.Lock()
        self._checkout: Checkout | None = None
        self._image: ImageBuild | None = None
        self._stopped = False
        self.timed_out = False

    def run(self, attempt: int) -> BuiltImage:
        deployment_id = self._request.deployment_id
        source = self._source()
        if attempt > 1:
            self._say(build_logs.SOURCE_STEP_ID, "", RESTARTED.format(n=attempt))
        shutil.rmtree(self._directory, ignore_errors=True)
        try:
            checkout = Checkout(
                source.repository,
                self._directory,
                say=lambda text: self._say(build_logs.SOURCE_STEP_ID, "fetch source", text),
            )
            with self._lock:
                self._raise_if_stopped()
                self._checkout = checkout
            commit = checkout.fetch(commit=source.commit_sha, branch=source.branch)
            self._record_commit(commit.sha, commit.message)
            context = inside(self._directory, source.spec.root_directory, "the root directory")
            dockerfile = inside(context, source.spec.dockerfile, "the dockerfile")
            if not dockerfile.is_file():
                raise SourceError(NO_DOCKERFILE.format(path=source.spec.dockerfile))
            # No image labels: each would add a build step that can never come from cache.
            tag = f"dockyard-build/{source.app_id}:{deployment_id}"
            image = ImageBuild(
                context=context,
                dockerfile=str(dockerfile),
                tag=tag,
            )
            with self._lock:
                self._raise_if_stopped()
                self._image = image
            image_id = image.run(on_line=self._write)
        except (SourceError, BuildFailed) as error:
            raise self._failure(str(error)) from error
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._record_image(tag, image_id)
        return BuiltImage(image=image_id, commit_sha=commit.sha)

    def stop(self, *, timed_out: bool) -> None:
        with self._lock:
            self._stopped = True
            self.timed_out = self.timed_out or timed_out
            for running in (self._checkout, self._image):
                if running is not None:
                    running.abort()

    def _raise_if_stopped(self) -> None:
        if self._stopped:
            raise BuildFailed("the build was stopped")

    def _failure(self, reason: str) -> ApplicationError:
        if self.timed_out:
            reason = TIMED_OUT.format(minutes=self._request.timeout.total_seconds() / 60)
        with self._sessions() as session:
            tail = build_logs.last_messages(
                session, deployment_id=self._request.deployment_id, count=QUOTED_LINES
            )
        quoted = "\n".join(tail)
        return failure(BUILD_FAILED, f"{reason}\n\nLast lines of the build log:\n{quoted}")

    def _source(self) -> _Source:
        with self._sessions() as session:
            deployment = session.get_one(Deployment, self._request.deployment_id)
            if not deployment.git_repository:
                raise failure(BUILD_FAILED, "the deployment has no git repository to build")
            return _Source(
                app_id=deployment.app_id,
                repository=deployment.git_repository,
                branch=deployment.git_branch,
                commit_sha=deployment.git_commit_sha,
                spec=BuildSpec.model_validate(deployment.build or {}),
            )

    def _say(self, step_id: str, step: str, text: str) -> None:
        self._write(BuildLine(step_id=step_id, step=step, output="stdout", message=text))

    def _write(self, line: BuildLine) -> None:
        with self._sessions.begin() as session:
            build_logs.append(session, self._request.deployment_id, [line])

    def _record_commit(self, sha: str, message: str) -> None:
        """A branch or short sha resolves to one full commit: that is what was deployed."""
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, self._request.deployment_id)
            deployment.git_commit_sha = sha
            deployment.git_commit_message = deployment.git_commit_message or message[:4096]

    def _record_image(self, tag: str, image_id: str) -> None:
        with self._sessions.begin() as session:
            deployment = session.get_one(Deployment, self._request.deployment_id)
            deployment.image = tag
            deployment.image_digest = image_id
