"""timeouts: `finish` (first step to end) and `start` (creation to first step) cancel the run."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from e2e_support import Stack

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
