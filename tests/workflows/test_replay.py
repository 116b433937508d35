"""Histories saved from real runs replay against today's workflow code.

A workflow change that would make running workflows non-deterministic fails here; guard
such a change with `workflow.patched`. Record fresh histories with

    DOCKYARD_RECORD_HISTORIES=1 scripts/test tests/workflows \
        -k "sqlite and (rollback_to_warm or missing_image)"
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.deployment import DeploymentWorkflow
from workflows.environment import EnvironmentWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_of_both_workflows_are_saved() -> None:
    kinds = {path.read_text().count('"EnvironmentWorkflow"') > 0 for path in HISTORIES}
    assert kinds == {True, False}, "save histories of both workflows (see module docstring)"


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[DeploymentWorkflow, EnvironmentWorkflow],
        data_converter=pydantic_data_converter,
    )
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer.replay_workflow(history)
