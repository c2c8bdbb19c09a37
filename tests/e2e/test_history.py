"""History stays proportional to state: delta memo, and continue-as-new for long runs."""

from __future__ import annotations

import pytest
from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def _chain(stack: Stack, run_id: str) -> list:
    return [wf async for wf in stack.client.list_workflows(f"WorkflowId = '{run_id}'")]


async def test_long_run_continues_as_new_and_keeps_its_memo(stack: Stack) -> None:
    """60 steps with continue-as-new every 25 memo writes: 3 runs in the chain, right result."""
    run = await stack.run_event("cases/many-steps", {"n": 60}, timeout=60)
    assert "Completed" == run["status"]
    assert {"total": sum(range(60)), "steps": 60} == run["output"]
    chain = await _chain(stack, run["run_id"])
    statuses = sorted(wf.status.name for wf in chain)
    assert ["COMPLETED", "CONTINUED_AS_NEW", "CONTINUED_AS_NEW"] == statuses


async def test_history_grows_with_state_not_steps_times_state(stack: Stack) -> None:
    """20 steps of 20 KB each: history well under the 4 MB a full memo per activity would cost."""
    run = await stack.run_event("cases/many-steps", {"n": 20, "size": 20_000}, timeout=60)
    assert "Completed" == run["status"]
    desc = await stack.client.get_workflow_handle(run["run_id"]).describe()
    size = desc.raw_description.workflow_execution_info.history_size_bytes
    state = 20 * 20_000
    # Full memo in every activity input would be about n^2/2 x 20 KB = 4 MB.
    assert size < 2 * state + 200_000, f"history {size} bytes for {state} bytes of state"
