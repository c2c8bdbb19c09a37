"""Histories of real runs replay deterministically against the current workflow code."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import temporalio.client
import temporalio.worker
from e2e_support import Stack
from temporalio.api.enums.v1 import EventType

from temporal_worker import _models
from temporal_worker._limits import SemaphoreWorkflow, ThrottleWorkflow
from temporal_worker._system_workflows import AppWorkflow, PausesWorkflow
from temporal_worker._worker import sandboxed_runner
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
    replayer = temporalio.worker.Replayer(workflows=[RunWorkflow], workflow_runner=sandboxed_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_system_workflow_histories_replay_inside_the_sandbox(stack: Stack) -> None:
    # Workers run our workflows outside Temporal's sandbox; replaying their histories inside it
    # catches a clock, random or I/O call that would make them non-deterministic.
    key = uuid.uuid4().hex[:10]
    (waiter,) = await stack.runs((await stack.send({"name": "cases/wait-key", "data": {"key": key}}))[0])
    await stack.wait_history_event(waiter["run_id"], what="the run to wait")
    # Several at once: the router gets them in one `deliver_many` signal, matched in order.
    await stack.send([{"name": "cases/key-arrived", "data": {"key": key, "n": n}} for n in (7, 8, 9)])
    assert 7 == (await stack.finished_run(waiter["run_id"]))["output"]
    for name in ("cases/throttled", "cases/prioritized"):
        run = await stack.run_event(name, {"key": key, "label": "x", "priority": 0})
        assert "Completed" == run["status"], run
    types = [_models.APP_WORKFLOW, _models.PAUSES_WORKFLOW, _models.CONCURRENCY_WORKFLOW, _models.THROTTLE_WORKFLOW]
    histories = []
    query = "WorkflowType IN ({})".format(", ".join(f"'{t}'" for t in types))
    async for wf in stack.client.list_workflows(query):
        histories.append(await stack.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history())
    assert set(types) <= {
        h.events[0].workflow_execution_started_event_attributes.workflow_type.name for h in histories
    }
    signals = {
        e.workflow_execution_signaled_event_attributes.signal_name for h in histories for e in h.events
    }
    assert {"register", "deliver_many"} <= signals, signals
    replayer = temporalio.worker.Replayer(
        workflows=[AppWorkflow, PausesWorkflow, SemaphoreWorkflow, ThrottleWorkflow],
        workflow_runner=sandboxed_runner(),
        data_converter=stack.client.data_converter,
    )
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, history.workflow_id


async def test_a_pause_router_history_of_the_previous_release_replays() -> None:
    # Recorded by the release before the router kept one expiry timer and woke runs from a local
    # activity (three registers, a deliver that woke a run, one that matched nothing, two
    # unregisters): routers running at an upgrade must go on replaying (workflow.patched).
    recorded = Path(__file__).parent / "histories" / "pause-router-87d7e05.json"
    history = temporalio.client.WorkflowHistory.from_json("inngest-pauses:cases/key-arrived", recorded.read_text())
    kinds = {e.event_type for e in history.events}
    assert EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED in kinds
    assert EventType.EVENT_TYPE_MARKER_RECORDED not in kinds  # no patch marker, no local activity
    replayer = temporalio.worker.Replayer(workflows=[PausesWorkflow], workflow_runner=sandboxed_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_function_finished_event_is_emitted(stack: Stack) -> None:
    """Every run end emits inngest/function.finished, which functions can listen to."""
    key = uuid.uuid4().hex[:12]
    run = await stack.run_event("cases/two-steps", {"key": key})
    (finished,) = await stack.wait_records(key, "finished", 1)
    assert "Completed" == finished["status"]
    assert run["output"] == finished["result"]
