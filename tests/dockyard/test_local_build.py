"""`dockyard deploy <directory>`: telling a directory from an image, the build options, and
what git says about the directory. No Docker and no API needed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.local_build import (
    LocalBuildError,
    directory_of,
    git_state,
    image_repository,
    local_source,
    parse_build_args,
)
from dockyard.cli.main import app
from tests.git_repo import AUTHOR


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory: `api/` with a Dockerfile, `My Site/` without; `../sibling/`."""
    work = tmp_path / "work"
    (work / "api").mkdir(parents=True)
    (work / "api" / "Dockerfile").write_text("FROM scratch\n")
    (work / "My Site").mkdir()
    (tmp_path / "sibling").mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("argument", [".", "./api", "api/", "../sibling"])
def test_a_path_is_a_directory(here: Path, argument: str) -> None:
    assert directory_of(argument) == (here / argument).resolve()


def test_an_absolute_path_is_a_directory(here: Path) -> None:
    assert directory_of(str(here / "api")) == here / "api"


def test_a_missing_path_is_an_error_not_an_image(here: Path) -> None:
    with pytest.raises(LocalBuildError, match=r"there is no directory \./nope"):
        directory_of("./nope")


@pytest.mark.parametrize("argument", ["dockyard/hello:v1", "ghcr.io/acme/api:v1", "nginx"])
def test_anything_else_is_an_image(here: Path, argument: str) -> None:
    assert directory_of(argument) is None


def test_a_directory_that_cannot_be_an_image_is_a_directory(here: Path) -> None:
    assert directory_of("My Site") == here / "My Site"


def test_a_bare_name_that_is_both_says_how_to_pick(here: Path) -> None:
    with pytest.raises(LocalBuildError) as raised:
        directory_of("api")

    assert "./api" in str(raised.value) and "api:latest" in str(raised.value)


def test_build_args_are_key_value_pairs_as_docker_takes_them() -> None:
    parsed = parse_build_args(["BASE_IMAGE=busybox:1.36", "EMPTY=", "URL=a=b"])

    assert parsed == {"BASE_IMAGE": "busybox:1.36", "EMPTY": "", "URL": "a=b"}


def test_a_build_arg_without_equals_is_named_by_position_not_value() -> None:
    with pytest.raises(LocalBuildError) as raised:
        parse_build_args(["A=1", "s3cr3t-token"])

    assert "number 2" in str(raised.value) and "KEY=VALUE" in str(raised.value)
    assert "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("value", ["=x", "1A=x", "A B=x", "A-B=x"])
def test_a_build_arg_name_must_be_a_name(value: str) -> None:
    with pytest.raises(LocalBuildError, match="not a build argument name"):
        parse_build_args([value])


def test_the_dockerfile_defaults_to_the_directorys_and_must_exist(here: Path) -> None:
    assert local_source(here / "api", None, []).dockerfile == here / "api" / "Dockerfile"

    with pytest.raises(LocalBuildError, match=r"no Dockerfile at .*/My Site/Dockerfile"):
        local_source(here / "My Site", None, [])


def test_dockerfile_is_relative_to_where_dockyard_runs(here: Path) -> None:
    (here / "build.Dockerfile").write_text("FROM scratch\n")

    source = local_source(here / "api", "build.Dockerfile", ["A=1"])

    assert source.dockerfile == here / "build.Dockerfile"
    assert source.build_args == {"A": "1"}


def test_the_image_repository_is_named_after_project_and_app() -> None:
    assert image_repository("shop", "default") == "dockyard-local/shop-default"
    assert image_repository("proj_4xZ", "API v2") == "dockyard-local/proj-4xz-api-v2"


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *AUTHOR, *args], cwd=directory, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def test_git_gives_branch_and_commit_until_the_directory_has_changes(here: Path) -> None:
    source = local_source(here / "api", None, [])
    assert git_state(source) is None

    git(here, "init", "--quiet", "--initial-branch=feature")
    git(here, "add", "api")
    git(here, "commit", "--quiet", "-m", "api")
    (here / "My Site" / "index.html").write_text("outside the build\n")

    clean = git_state(source)
    assert clean is not None
    assert (clean.branch, clean.commit, clean.dirty) == (
        "feature",
        git(here, "rev-parse", "HEAD"),
        False,
    )

    (here / "api" / "new.txt").write_text("not committed\n")
    dirty = git_state(source)
    assert dirty is not None and dirty.dirty

    git(here, "checkout", "--quiet", "--detach")
    detached = git_state(source)
    assert detached is not None and detached.branch is None


runner = CliRunner()


def deploy(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["deploy", *args], env={"DOCKYARD_ROOT_KEY": "dy_test"})
    return result.exit_code, result.output


def test_build_options_with_an_image_are_refused(here: Path) -> None:
    code, output = deploy("dockyard/hello:v1", "--project", "shop", "--build-arg", "A=1")

    assert code == 1
    assert "only when deploying a directory" in output


def test_a_bad_build_arg_stops_before_anything_is_built(here: Path) -> None:
    code, output = deploy("./api", "--project", "shop", "--build-arg", "A")

    assert code == 1
    assert "KEY=VALUE" in output and "building" not in output


def test_a_directory_without_dockerfile_is_one_sentence(here: Path) -> None:
    code, output = deploy("./My Site", "--project", "shop")

    assert code == 1
    [line] = output.strip().splitlines()
    assert line.startswith("error: there is no Dockerfile at")
