"""cancel (cancel_on): a matching event cancels the run between steps; no on_failure."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from e2e_support import Stack, eventually
from temporalio.api.enums.v1 import EventType

pytestmark = pytest.mark.temporal


async def test_cancel_on_matching_event_cancels_run_without_on_failure(stack: Stack) -> None:
    key = uuid.uuid4().hex[:12]
    (event_id,) = await stack.send({"name": "cases/cancellable", "data": {"key": key}})
    (run,) = await stack.runs(event_id)
    await asyncio.sleep(1.0)
    await stack.send({"name": "cases/cancel-it", "data": {"key": "someone-else"}})
    await asyncio.sleep(1.0)
    assert "Running" == (await stack.http.get(f"/v1/runs/{run['run_id']}")).json()["data"]["status"]
    await stack.send({"name": "cases/cancel-it", "data": {"key": key}})
    done = await stack.finished_run(run["run_id"], timeout=20)
    assert "Cancelled" == done["status"]
    await asyncio.sleep(1.0)
    assert [] == [r for r in stack.records_of(key) if r["what"] == "on_failure"]


async def test_cancel_without_if_never_cancels_by_own_trigger_but_by_the_next_event(stack: Stack) -> None:
    """Trigger and cancel event are the same name: a run survives its own trigger; the next
    event cancels it (Inngest: without `if`, any such event cancels every in-flight run)."""
    (first_event,) = await stack.send({"name": "cases/restart", "data": {"label": "first"}})
    (first,) = await stack.runs(first_event)
    await asyncio.sleep(1.5)
    assert "Running" == (await stack.http.get(f"/v1/runs/{first['run_id']}")).json()["data"]["status"]
    (second_event,) = await stack.send({"name": "cases/restart", "data": {"label": "second"}})
    assert "Cancelled" == (await stack.finished_run(first["run_id"], timeout=20))["status"]
    (second,) = await stack.runs(second_event)
    assert "second" == (await stack.finished_run(second["run_id"], timeout=20))["output"]


async def test_finished_run_leaves_no_cancel_pause_behind(stack: Stack) -> None:
    """A run that ends removes its cancel pauses, so routers do not keep them for a year."""
    (first_event,) = await stack.send({"name": "cases/restart", "data": {"label": "alone"}})
    (run,) = await stack.runs(first_event)
    assert "alone" == (await stack.finished_run(run["run_id"], timeout=20))["output"]
    router = stack.client.get_workflow_handle("inngest-pauses:cases/restart")

    async def gone() -> bool:
        try:
            desc = await router.describe()
        except Exception:
            return True
        return desc.status.name != "RUNNING"

    from e2e_support import eventually

    await eventually(gone, timeout=15, what="the pause router to close once its last pause went")



async def test_cancel_while_a_step_runs_lets_it_finish_then_cancels(stack: Stack) -> None:
    """A cancel event during a step.run: the step finishes, no later step runs, the run is
    Cancelled. The workflow used to spin without yielding (Temporal's deadlock detector failed
    its workflow task over and over) and the run stayed Running for good."""
    key = uuid.uuid4().hex[:12]
    (event_id,) = await stack.send({"name": "cases/cancel-mid-step", "data": {"key": key}})
    (run,) = await stack.runs(event_id)
    async def long_started() -> bool:
        return any(r["what"] == "long-start" for r in stack.records_of(key))

    await eventually(long_started, timeout=20, what="the long step to start")
    await stack.send({"name": "cases/cancel-it", "data": {"key": key}})
    done = await stack.finished_run(run["run_id"], timeout=30)
    assert "Cancelled" == done["status"], done
    assert ["long-start", "long-end"] == [r["what"] for r in stack.records_of(key)]
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    failed = [e for e in history.events if e.event_type in (
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    )]
    assert [] == failed
