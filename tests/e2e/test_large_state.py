"""Inngest's size limits on Temporal: 4 MiB per step, 32 MiB per run, 1,000 steps (here 100)."""

from __future__ import annotations

import pytest
from e2e_support import Stack

pytestmark = pytest.mark.temporal

MiB = 1024 * 1024


async def test_c02_large_step_outputs_just_work(stack: Stack) -> None:
    """128 KB and 3 MiB step outputs (over Temporal's 2 MiB payload cap) go through the store."""
    run = await stack.run_event("cases/big-steps", {"sizes": [128 * 1024, 3 * MiB]}, timeout=60)
    assert "Completed" == run["status"], run["output"]
    assert {"lengths": [128 * 1024, 3 * MiB]} == run["output"]
    desc = await stack.client.get_workflow_handle(run["run_id"]).describe()
    assert desc.raw_description.workflow_execution_info.history_size_bytes < 256 * 1024


async def test_c02_step_output_over_4_mib_fails_at_once_naming_step_size_and_limit(stack: Stack) -> None:
    run = await stack.run_event("cases/big-steps", {"sizes": [4 * MiB + 100]}, timeout=30)
    assert "Failed" == run["status"]
    message = run["output"]["message"]
    assert "step 'load-0'" in message and "4194416 bytes" in message and "4194304" in message


async def test_32_mib_of_state_in_one_run_completes(stack: Stack) -> None:
    """Eight steps of almost 4 MiB each: 32 MiB of state, history stays small."""
    size = 4 * MiB - 64
    run = await stack.run_event("cases/big-steps", {"sizes": [size] * 8}, timeout=120)
    assert "Completed" == run["status"], run["output"]
    assert {"lengths": [size] * 8} == run["output"]


async def test_state_over_32_mib_fails_the_run_as_inngest_does(stack: Stack) -> None:
    size = 4 * MiB - 64
    run = await stack.run_event("cases/big-steps", {"sizes": [size] * 9}, timeout=120)
    assert "Failed" == run["status"]
    assert "InngestErrStateOverflowed" == run["output"]["name"]


async def test_step_limit_fails_the_run_as_inngest_does(stack: Stack) -> None:
    """The suite's worker allows 100 steps (Inngest's default is 1,000): step 101 fails the run."""
    ok = await stack.run_event("cases/many-steps", {"n": 100}, timeout=90)
    assert "Completed" == ok["status"]
    over = await stack.run_event("cases/many-steps", {"n": 101}, timeout=90)
    assert "Failed" == over["status"]
    assert "InngestErrFunctionOverflowed" == over["output"]["name"]
