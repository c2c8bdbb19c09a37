"""timeouts: `finish` (first step to end) and `start` (creation to first step) cancel the run."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from e2e_support import Stack
from temporalio.api.enums.v1 import EventType

pytestmark = pytest.mark.temporal


async def test_timeouts_finish_cancels_a_run_that_runs_too_long(stack: Stack) -> None:
    started = time.time()
    run = await stack.run_event("cases/finish-timeout", {"key": uuid.uuid4().hex[:12]}, timeout=20)
    assert "Cancelled" == run["status"]
    assert time.time() - started < 10, "cancelled at about 2 s, not after the 20 s sleep"


async def test_timeouts_start_cancels_a_run_stuck_in_the_throttle_backlog(stack: Stack) -> None:
    """Throttle 1 per 30 s: the second run would start in 30 s, its start timeout is 2 s."""
    key = uuid.uuid4().hex[:12]
    first_id, second_id = await stack.send(
        [{"name": "cases/start-timeout", "data": {"key": key, "label": n}} for n in ("1", "2")]
    )
    (first,) = await stack.runs(first_id)
    (second,) = await stack.runs(second_id)
    started = time.time()
    done = [await stack.finished_run(r["run_id"], timeout=20) for r in (first, second)]
    assert time.time() - started < 10, "the backlogged run is cancelled at about 2 s, not 30 s"
    assert ["Cancelled", "Completed"] == sorted(d["status"] for d in done)


async def test_timeouts_start_cancels_a_run_picked_up_after_its_deadline(stack: Stack) -> None:
    """No worker for 3 s: when one comes, the run is past timeouts.start and is cancelled."""
    stack.worker.kill9()
    try:
        (event_id,) = await stack.send({"name": "cases/late-start", "data": {}})
        (run,) = await stack.runs(event_id)
        await asyncio.sleep(3)
    finally:
        stack.worker.start()
    assert "Cancelled" == (await stack.finished_run(run["run_id"], timeout=60))["status"]


async def test_timeouts_finish_during_a_step_cancels_once_it_ends(stack: Stack) -> None:
    """The finish timeout passes while a step.run executes: the step ends, nothing after it
    runs, the run is Cancelled, and no workflow task failed on the way (the workflow spun)."""
    key = uuid.uuid4().hex[:12]
    run = await stack.run_event("cases/finish-timeout-mid-step", {"key": key}, timeout=30)
    assert "Cancelled" == run["status"], run
    assert ["long-start", "long-end"] == [r["what"] for r in stack.records_of(key)]
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    assert [] == [e.event_type for e in history.events if e.event_type in (
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    )]
