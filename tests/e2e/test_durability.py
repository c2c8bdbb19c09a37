"""Kill -9 the worker mid-step: a new worker finishes the run; finished steps never run again."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_kill_worker_mid_step_run_completes_without_rerunning_done_steps(stack: Stack) -> None:
    key = uuid.uuid4().hex[:12]
    (event_id,) = await stack.send({"name": "cases/slow-steps", "data": {"key": key, "seconds": 2}})
    (run,) = await stack.runs(event_id)
    # Step 0 finished and step 1 is running: kill the worker process group.
    await stack.wait_records(key, "start", 2, timeout=30)
    first_pid = stack.records_of(key)[0]["pid"]
    stack.worker.kill9()
    stack.worker.start()
    done = await stack.finished_run(run["run_id"], timeout=90)
    assert "Completed" == done["status"]
    assert [0, 1, 2] == done["output"]
    records = stack.records_of(key)
    starts = [r["i"] for r in records if r["what"] == "start"]
    ends = [r["i"] for r in records if r["what"] == "end"]
    assert 1 == starts.count(0), "step 0 had completed before the kill: never executed again"
    assert 1 == ends.count(0)
    assert 2 == starts.count(1), "step 1 was cut off by the kill and ran again on the new worker"
    assert 1 == starts.count(2)
    assert any(r["pid"] != first_pid for r in records if r["what"] == "end"), "the new worker finished it"


async def test_a_worker_stopped_mid_step_lets_the_step_finish_first(stack: Stack) -> None:
    """SIGTERM (a deploy, Ctrl-C, a dev reload) while a step runs: the step gets
    INNGEST_TEMPORAL_SHUTDOWN_GRACE (8 s) to finish. It was cancelled at once and failed with
    WorkerShutdown: a retries=0 run failed, others spent an attempt and ran the step again."""
    key = uuid.uuid4().hex[:12]
    (event_id,) = await stack.send({"name": "cases/slow-steps", "data": {"key": key, "seconds": 2}})
    (run,) = await stack.runs(event_id)
    await stack.wait_records(key, "start", 1, timeout=30)
    await asyncio.to_thread(stack.worker.stop)
    assert [("start", 0), ("end", 0)] == [(r["what"], r["i"]) for r in stack.records_of(key)]
    stack.worker.start()
    done = await stack.finished_run(run["run_id"], timeout=90)
    assert ("Completed", [0, 1, 2]) == (done["status"], done["output"])
    starts = [r["i"] for r in stack.records_of(key) if r["what"] == "start"]
    assert [0, 1, 2] == starts, "each step ran once"
