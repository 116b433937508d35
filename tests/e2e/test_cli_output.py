"""What `dockyard deploy` says: one sentence for a missing image, skipped steps without a
duration, and a deployment that is ready but not live said to be so."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Dockyard

NEGATIVE_DURATION = re.compile(r"-\d+\.\d+s")
DURATION = re.compile(r"\d+\.\d+s")


@pytest.fixture(scope="module")
def rolled(dockyard: Dockyard) -> Dockyard:
    assert dockyard.cli("projects", "create", "rolled").returncode == 0
    assert dockyard.cli("apps", "create", "default", "--project", "rolled").returncode == 0
    return dockyard


def deploy(dockyard: Dockyard, image: str) -> tuple[str, str]:
    result = dockyard.cli("deploy", image, "--project", "rolled")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1], result.stdout


def test_missing_image_is_one_sentence_and_a_failure(rolled: Dockyard) -> None:
    result = rolled.cli("deploy", "dockyard/nope:v1", "--project", "rolled")

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [error] = result.stderr.strip().splitlines()
    assert "dockyard/nope:v1" in error and "failed" in error


def test_skipped_steps_say_why_not_how_long(rolled: Dockyard, demo_images: dict[str, str]) -> None:
    _, output = deploy(rolled, demo_images["v1"])

    skipped = [line for line in output.splitlines() if " skipped " in line]
    assert skipped, output
    assert not NEGATIVE_DURATION.search(output)
    assert not any(DURATION.search(line) for line in skipped), skipped


def test_deploy_while_rolled_back_is_ready_but_not_live(
    rolled: Dockyard, demo_images: dict[str, str]
) -> None:
    first, _ = deploy(rolled, demo_images["v1"])
    deploy(rolled, demo_images["v2"])
    assert rolled.cli("rollback", first).returncode == 0

    waiting, output = deploy(rolled, demo_images["v2"])

    assert "ready, but not live" in output
    assert f"dockyard promote {waiting}" in output
    assert rolled.through_edge("rolled-acme.localhost", "/version.txt").text.strip() == "v1"
    assert rolled.cli("promote", waiting).returncode == 0
    assert rolled.through_edge("rolled-acme.localhost", "/version.txt").text.strip() == "v2"


def test_replicas_do_not_warn_that_granian_is_experimental(
    rolled: Dockyard, demo_images: dict[str, str]
) -> None:
    deploy(rolled, demo_images["v1"])

    edge_log = (rolled.settings.home / "logs" / "edge.log").read_text(errors="replace")
    assert "experimental" not in edge_log
