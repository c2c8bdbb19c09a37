"""Stock inngest-py apps (FastAPI async, Flask sync), unmodified, run on Temporal via the gateway."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from bridge_support import BridgeStack, SdkApp
from e2e_support import eventually

pytestmark = pytest.mark.temporal


async def test_bridge_steps_complete_as_a_workflow_named_after_the_function(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    run = await bridge.run(py_app.event("steps"), {"n": 4})
    assert "Completed" == run["status"], run
    assert {"a": 5, "b": 10, "run_id": run["run_id"]} == run["output"]
    assert py_app.fn("steps") == await bridge.workflow_type(run["run_id"])
    assert ["add-one", "double"] == await bridge.activity_types(run["run_id"])


async def test_bridge_sleep_is_a_durable_timer(bridge: BridgeStack, py_app: SdkApp) -> None:
    run = await bridge.run(py_app.event("sleepy"), {})
    assert "Completed" == run["status"], run
    assert run["output"]["slept"] >= 1.9
    history = await bridge.history(run["run_id"])
    timers = [e for e in history if e.HasField("timer_started_event_attributes")]
    assert 1 <= len(timers)
    assert ["before-nap", "after-nap"] == await bridge.activity_types(run["run_id"])


async def test_bridge_wait_for_event_resumes_on_a_matching_event(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    key = uuid.uuid4().hex[:10]
    event_id = await bridge.send(py_app.event("wait"), {"id": key})
    (run,) = await bridge.runs(event_id)
    await eventually(
        lambda: _async_true(any(r["id"] == key for r in bridge.records_of(py_app.app_id, "waiting"))),
        what="the run to reach its wait",
    )

    async def resumed() -> dict | None:
        await bridge.send(py_app.event("approved"), {"id": "someone-else"})
        await bridge.send(py_app.event("approved"), {"id": key, "by": "ops"})
        r = await bridge.http.get(f"/v1/runs/{run['run_id']}")
        data = r.json()["data"]
        return data if data["status"] != "Running" else None

    done = await eventually(resumed, timeout=30, interval=1.0, what="the wait to resume")
    assert "Completed" == done["status"], done
    assert {"approved": {"id": key, "by": "ops"}} == done["output"]


async def test_bridge_wait_for_event_times_out_to_none(bridge: BridgeStack, py_app: SdkApp) -> None:
    run = await bridge.run(py_app.event("wait"), {"id": uuid.uuid4().hex, "timeout_s": 2})
    assert "Completed" == run["status"], run
    assert {"approved": None} == run["output"]


async def test_bridge_invoke_runs_the_child_as_a_child_workflow(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    run = await bridge.run(py_app.event("invoke"), {"x": 7})
    assert "Completed" == run["status"], run
    assert {"child": {"sq": 49}} == run["output"]
    history = await bridge.history(run["run_id"])
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        for e in history
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert [py_app.fn("child")] == children


async def test_bridge_parallel_steps_run_as_concurrent_activities(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    run = await bridge.run(py_app.event("parallel"), {})
    assert "Completed" == run["status"], run
    assert {"parallel": ["one", "two"], "after": "after"} == run["output"]
    types = await bridge.activity_types(run["run_id"])
    assert ["p-one", "p-two"] == sorted(types[:2])
    assert "after" == types[2]


async def test_bridge_step_retries_until_it_succeeds(bridge: BridgeStack, py_app: SdkApp) -> None:
    before = len(bridge.records_of(py_app.app_id, "flaky"))
    run = await bridge.run(py_app.event("flaky"), {})
    assert "Completed" == run["status"], run
    assert {"result": "ok on attempt 1"} == run["output"]
    attempts = [r["attempt"] for r in bridge.records_of(py_app.app_id, "flaky")[before:]]
    assert [0, 1] == attempts


async def test_bridge_non_retriable_error_fails_the_run_after_one_attempt(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    before = len(bridge.records_of(py_app.app_id, "no-retry"))
    run = await bridge.run(py_app.event("no-retry"), {})
    assert "Failed" == run["status"], run
    assert "refused for good" == run["output"]["message"]
    assert "NonRetriableError" == run["output"]["name"]
    assert [0] == [r["attempt"] for r in bridge.records_of(py_app.app_id, "no-retry")[before:]]


async def test_bridge_exhausted_step_raises_step_error_in_the_handler(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    run = await bridge.run(py_app.event("step-error"), {})
    assert "Completed" == run["status"], run
    assert {"caught": "ValueError", "message": "boom"} == run["output"]
    assert ["boom"] == await bridge.activity_types(run["run_id"])  # retried within one activity


async def test_bridge_failed_run_triggers_on_failure(bridge: BridgeStack, py_app: SdkApp) -> None:
    marker = uuid.uuid4().hex
    run = await bridge.run(py_app.event("fails"), {"marker": marker})
    assert "Failed" == run["status"], run
    assert "function failed on purpose" == run["output"]["message"]

    async def handled() -> list | None:
        hits = [r for r in bridge.records_of(py_app.app_id, "failure") if (r["original"] or {}).get("marker") == marker]
        return hits or None

    (seen,) = await eventually(handled, timeout=30, what="the on_failure handler")
    assert py_app.fn("fails") == seen["function_id"]
    assert run["run_id"] == seen["run_id"]
    # Inngest's StandardError, as the failure event carries it (the run output keeps the SDK's body).
    assert {"error", "name", "message", "stack"} == set(seen["error"])
    assert ("invalid status code: 500", "RuntimeError", "function failed on purpose") == (
        seen["error"]["error"], seen["error"]["name"], seen["error"]["message"]
    )
    (failure_run,) = await bridge.runs_of_function(py_app.fn("fails-failure"))
    assert py_app.fn("fails-failure") == await bridge.workflow_type(failure_run)


async def _async_true(value: bool) -> bool:
    return value


async def test_bridge_ai_infer_is_requested_by_the_bridge_and_memoized(
    bridge: BridgeStack, py_app: SdkApp
) -> None:
    question = uuid.uuid4().hex
    run = await bridge.run(py_app.event("ask"), {"q": question})
    assert "Completed" == run["status"], run
    assert {"type": "message", "content": [{"type": "text", "text": f"re: {question}"}]} == run["output"]
    (seen,) = [r for r in bridge.model.requests if r["body"]["messages"][0]["content"] == question]
    assert "/v1/messages" == seen["path"]
    assert ("sk-test-123", "yes") == (seen["headers"]["X-Api-Key"], seen["headers"]["X-Test"])
    assert "claude-test" == seen["body"]["model"]
    assert ["ask-model"] == await bridge.activity_types(run["run_id"])


async def test_bridge_cancel_on_event_cancels_the_waiting_run(bridge: BridgeStack, py_app: SdkApp) -> None:
    key = uuid.uuid4().hex[:10]
    event_id = await bridge.send(py_app.event("cancellable"), {"id": key})
    (run,) = await bridge.runs(event_id)
    await eventually(
        lambda: _async_true(any(r["id"] == key for r in bridge.records_of(py_app.app_id, "cancellable"))),
        what="the run to start",
    )
    await bridge.send(py_app.event("cancel"), {"id": "another-run"})
    await bridge.send(py_app.event("cancel"), {"id": key})
    done = await bridge.finished(run["run_id"], timeout=30)
    assert "Cancelled" == done["status"], done


async def test_bridge_debounce_runs_once_with_the_last_event(bridge: BridgeStack, py_app: SdkApp) -> None:
    key = uuid.uuid4().hex[:10]
    for n in (1, 2, 3):
        await bridge.send(py_app.event("debounced"), {"key": key, "n": n})

    async def ran() -> list | None:
        hits = [r for r in bridge.records_of(py_app.app_id, "debounced") if r["debounce_key"] == key]
        return hits or None

    hits = await eventually(ran, timeout=30, what="the debounced run")
    await asyncio.sleep(3)  # a second run, if any, would have started by now
    assert [3] == [r["n"] for r in bridge.records_of(py_app.app_id, "debounced") if r["debounce_key"] == key]
    assert 1 == len(hits)
