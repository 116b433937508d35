"""`dockyard deploy .`: build the directory in front of you, streaming the build, deploy
it, and build it again from the layer cache."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

import docker
import pytest

from dockyard.images import DEMO_CONTEXT, busybox_base
from tests.e2e.conftest import Dockyard

PROJECT = "built"
LIVE = f"{PROJECT}-acme.localhost"
BUILT = re.compile(r"^built (\S+) in \d+\.\d+s, (\d+|no) steps? from the layer cache$", re.M)


@pytest.fixture(scope="module")
def built(dockyard: Dockyard) -> Dockyard:
    assert dockyard.cli("projects", "create", PROJECT).returncode == 0
    assert dockyard.cli("apps", "create", "default", "--project", PROJECT).returncode == 0
    return dockyard


@pytest.fixture
def base_image(docker_client: docker.DockerClient) -> str:
    return busybox_base(docker_client)


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A copy of examples/hello with a step of its own before COPY, so that only this
    test's builds can have cached it, and a file .dockerignore keeps out of the image."""
    copy = tmp_path / "hello"
    shutil.copytree(DEMO_CONTEXT, copy)
    dockerfile = copy / "Dockerfile"
    own_step = f"RUN echo {secrets.token_hex(8)} > /built-by.txt\nCOPY www /www\n"
    dockerfile.write_text(dockerfile.read_text().replace("COPY www /www\n", own_step))
    (copy / "www" / "index.html").write_text("first\n")
    (copy / "www" / "notes.txt").write_text("not for the image\n")
    (copy / ".dockerignore").write_text("www/notes.txt\n")
    return copy


def deploy_here(dockyard: Dockyard, directory: Path, *args: str) -> tuple[int, str, str]:
    result = dockyard.cli("deploy", ".", "--project", PROJECT, *args, cwd=directory)
    return result.returncode, result.stdout, result.stderr


def deployments(dockyard: Dockyard) -> list[str]:
    listed = dockyard.api("deployments.listDeployments", {"project": PROJECT})
    assert listed.status_code == 200, listed.text
    return [item["id"] for item in listed.json()["data"]]


def served(dockyard: Dockyard, path: str = "/") -> tuple[int, str]:
    response = dockyard.through_edge(LIVE, path)
    return response.status_code, response.text


def test_deploy_dot_builds_streams_and_serves_then_rebuilds_from_cache(
    built: Dockyard, hello: Path, base_image: str, docker_client: docker.DockerClient
) -> None:
    build_arg = ("--build-arg", f"BASE_IMAGE={base_image}")

    code, first, errors = deploy_here(built, hello, *build_arg)

    assert code == 0, errors
    lines = first.splitlines()
    created = next(n for n, line in enumerate(lines) if re.match(r"deployment \S+ created", line))
    build_output = lines[:created]
    assert any(line.startswith("Step 1/8 : ") for line in build_output), first
    assert "Step 5/8 : COPY www /www" in build_output
    assert not any(line.startswith("{") for line in build_output), "text, not JSON"
    [(first_tag, first_cached)] = BUILT.findall("\n".join(build_output))
    assert first_tag.startswith(f"dockyard-local/{PROJECT}-default:")
    assert "ready" in lines[created:]
    assert served(built) == (200, "first\n")
    assert served(built, "/notes.txt")[0] == 404

    (hello / "www" / "index.html").write_text("second\n")
    code, second, errors = deploy_here(built, hello, *build_arg)

    assert code == 0, errors
    own_step = second.split("Step 4/8 : RUN echo", 1)[1].splitlines()
    assert own_step[1] == " ---> Using cache", second
    [(second_tag, second_cached)] = BUILT.findall(second)
    assert int(second_cached) > (0 if first_cached == "no" else int(first_cached))
    assert second_tag != first_tag
    assert served(built) == (200, "second\n")
    # Tags never move: a rollback to the first build still finds its image.
    docker_client.images.get(first_tag)


def test_a_directory_without_dockerfile_deploys_nothing(built: Dockyard, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("no Dockerfile here\n")
    before = deployments(built)

    code, _, errors = deploy_here(built, tmp_path)

    assert code == 1
    [sentence] = errors.strip().splitlines()
    assert "no Dockerfile" in sentence
    assert deployments(built) == before


def test_a_failing_build_shows_its_step_and_deploys_nothing(
    built: Dockyard, tmp_path: Path, base_image: str
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN echo checking the tests && echo 3 tests failed && false\n"
    )
    before = deployments(built)

    code, output, errors = deploy_here(built, tmp_path)

    assert code == 1
    assert "3 tests failed" in output
    [sentence] = errors.strip().splitlines()
    assert "the build failed at Step 2/2 : RUN echo checking the tests" in sentence
    assert "nothing was deployed" in sentence and "Traceback" not in errors
    assert deployments(built) == before
