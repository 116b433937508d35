"""`dockyard deploy <directory>`: what to build, and building it where the CLI runs.

The image is built by the Docker engine this machine's Docker client talks to (DOCKER_HOST,
else the local socket), and the deployment then runs it by tag from that same engine. So
the CLI must run beside dockyard's region engine, or DOCKER_HOST must point at it: the
single-machine case. Docker's layer cache makes a second build of the same directory
rerun only the steps after the first one whose input changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import requests

from dockyard.builder import BuildFailed, BuildLine, ImageBuild

LOCAL_REPOSITORY = "dockyard-local"
# `docker build` announces a layer it did not rebuild: classic builder, then BuildKit.
CACHED_STEP = re.compile(r"---> Using cache|\bCACHED\b")
BUILD_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Whatever could be read as an image reference: lowercase name, tag and digest characters.
IMAGE_LIKE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*")
SHORT_ID = 12
PATH_STARTS = ("./", "../", "/", "~")

NO_DIRECTORY = "there is no directory {path}"
AMBIGUOUS = (
    "{argument!r} is a directory here and could also be an image: write ./{argument} to "
    "build and deploy the directory, or give the image a tag ({argument}:latest) to deploy it"
)
# A build argument may carry a token: the messages name its position or key, not its value.
NO_EQUALS = "--build-arg number {n} is not KEY=VALUE: it has no `=`"
BAD_NAME = (
    "--build-arg {key!r} is not a build argument name: "
    "letters, digits and underscores, not starting with a digit"
)
NO_DOCKERFILE = "there is no Dockerfile at {path}; pass --dockerfile to use another file"
NO_DOCKER = (
    "cannot reach the Docker engine at {host} ({reason}); the image is built by the engine "
    "of the machine the CLI runs on, so run it where dockyard runs or set DOCKER_HOST"
)
BUILD_FAILED = "the build failed at {step} ({reason}); nothing was deployed"
BUILD_REFUSED = "Docker refused to build {dockerfile}: {reason}; nothing was deployed"
ENGINE_LOST = "lost the Docker engine at {host} during the build ({reason}); nothing was deployed"


class LocalBuildError(Exception):
    """A directory that cannot be built as asked; the message is one sentence for the user."""


@dataclass(frozen=True)
class LocalSource:
    """A directory to build: its Dockerfile and build arguments."""

    context: Path
    dockerfile: Path
    build_args: dict[str, str]


@dataclass(frozen=True)
class GitState:
    """Where a directory stands in its git work tree."""

    branch: str | None  # None on a detached HEAD
    commit: str | None  # HEAD's sha; None before the first commit
    dirty: bool  # uncommitted changes (ignored files aside) in what the build reads


@dataclass(frozen=True)
class LocalImage:
    tag: str
    seconds: float
    cached_steps: int


def directory_of(argument: str) -> Path | None:
    """The directory `argument` names, or None when it names an image.

    A path (`.`, `./x`, `../x`, `/x`, `~/x`, `x/`) is always a directory. A bare name that
    is also an existing directory is refused when it could as well be an image reference.
    """
    path = Path(argument).expanduser()
    if argument in (".", "..") or argument.startswith(PATH_STARTS) or argument.endswith("/"):
        if not path.is_dir():
            raise LocalBuildError(NO_DIRECTORY.format(path=argument))
        return path.resolve()
    if not path.is_dir():
        return None
    if IMAGE_LIKE.fullmatch(argument):
        raise LocalBuildError(AMBIGUOUS.format(argument=argument))
    return path.resolve()


def parse_build_args(values: list[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs as a dict; the value may contain `=` and be empty, as in docker."""
    parsed = {}
    for n, value in enumerate(values, start=1):
        key, equals, argument = value.partition("=")
        if not equals:
            raise LocalBuildError(NO_EQUALS.format(n=n))
        if not BUILD_ARG_NAME.fullmatch(key):
            raise LocalBuildError(BAD_NAME.format(key=key))
        parsed[key] = argument
    return parsed


def local_source(context: Path, dockerfile: str | None, build_args: list[str]) -> LocalSource:
    """What to build; `dockerfile` is relative to the working directory, as `docker build -f`."""
    path = Path(dockerfile).expanduser().resolve() if dockerfile else context / "Dockerfile"
    if not path.is_file():
        raise LocalBuildError(NO_DOCKERFILE.format(path=path))
    return LocalSource(context=context, dockerfile=path, build_args=parse_build_args(build_args))


def git_state(source: LocalSource) -> GitState | None:
    """The branch and commit of the work tree holding the directory; None outside git."""
    top = _git(source.context, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    read = [str(p) for p in (source.context, source.dockerfile) if p.is_relative_to(top)]
    changes = _git(source.context, "status", "--porcelain", "--", *read)
    return GitState(
        branch=_git(source.context, "symbolic-ref", "--quiet", "--short", "HEAD"),
        commit=_git(source.context, "rev-parse", "--verify", "--quiet", "HEAD"),
        dirty=bool(changes),
    )


def image_repository(project: str, app: str) -> str:
    """`dockyard-local/<project>-<app>`, in the characters a repository name allows."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{project}-{app}".lower()).strip("-")
    return f"{LOCAL_REPOSITORY}/{name or 'app'}"


def build(source: LocalSource, repository: str, *, say: Callable[[str], None]) -> LocalImage:
    """Build, saying each line docker prints as it prints it; the image is tagged
    `<repository>:<short image id>`, which never moves, and `:latest`, the newest build."""
    host = os.environ.get("DOCKER_HOST") or "the local socket"
    cached = 0
    failed_at = ""

    def on_line(line: BuildLine) -> None:
        nonlocal cached, failed_at
        if line.output == "stderr":  # docker's error: said once, in the failure
            failed_at = line.step or "the start"
        elif line.message.strip():
            cached += bool(CACHED_STEP.search(line.message))
            say(line.message)

    try:
        engine = docker.from_env()
        image = ImageBuild(
            context=source.context,
            dockerfile=str(source.dockerfile),
            tag=f"{repository}:latest",
            build_args=source.build_args,
        )
    except docker.errors.DockerException as error:
        raise LocalBuildError(NO_DOCKER.format(host=host, reason=error)) from error
    started = time.monotonic()
    try:
        image_id = image.run(on_line)
        short = image_id.removeprefix("sha256:")[:SHORT_ID]
        engine.api.tag(image_id, repository, short)
    except BuildFailed as error:
        raise LocalBuildError(BUILD_FAILED.format(step=failed_at, reason=error)) from error
    except docker.errors.APIError as error:
        reason = error.explanation or error
        raise LocalBuildError(
            BUILD_REFUSED.format(dockerfile=source.dockerfile, reason=reason)
        ) from error
    except (docker.errors.DockerException, requests.RequestException) as error:
        raise LocalBuildError(ENGINE_LOST.format(host=host, reason=error)) from error
    finally:
        engine.close()
    return LocalImage(
        tag=f"{repository}:{short}", seconds=time.monotonic() - started, cached_steps=cached
    )


def _git(directory: Path, *args: str) -> str | None:
    """git's answer, stripped; None when git fails or is not installed."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None
