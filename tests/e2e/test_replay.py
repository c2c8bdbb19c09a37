"""Histories of real runs replay deterministically against the current workflow code."""

from __future__ import annotations

import uuid

import pytest
import temporalio.worker
from e2e_support import Stack

from temporal_worker._worker import workflow_runner
from temporal_worker._workflow import RunWorkflow

pytestmark = pytest.mark.temporal


@pytest.mark.parametrize(
    "name",
    ["cases/two-steps", "cases/loop", "cases/parallel", "cases/invoke-child", "cases/step-error", "cases/charge"],
)
async def test_run_history_replays_without_nondeterminism(stack: Stack, name: str) -> None:
    run = await stack.run_event(name, {"key": uuid.uuid4().hex[:12]})
    assert run["status"] in ("Completed", "Failed")
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    replayer = temporalio.worker.Replayer(workflows=[RunWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_function_finished_event_is_emitted(stack: Stack) -> None:
    """Every run end emits inngest/function.finished, which functions can listen to."""
    key = uuid.uuid4().hex[:12]
    run = await stack.run_event("cases/two-steps", {"key": key})
    (finished,) = await stack.wait_records(key, "finished", 1)
    assert "Completed" == finished["status"]
    assert run["output"] == finished["result"]
