"""The small inputs that broke real users (shared/cases/CASES.md), with the right values."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import temporalio.api.enums.v1

from e2e_support import Stack

pytestmark = pytest.mark.temporal


def new_key() -> str:
    return uuid.uuid4().hex[:12]


async def test_c01_same_event_id_three_times_starts_one_run(stack: Stack) -> None:
    """Three sends of one event id: three 200s with ids, one run per triggered function."""
    key = new_key()
    event = {"name": "order/placed", "id": f"ord-{key}", "data": {"key": key}}
    ids = [await stack.send(event) for _ in range(3)]
    assert all(len(i) == 1 for i in ids)
    assert 3 == len({i[0] for i in ids}), "each send is stored with its own internal id"

    (run,) = await stack.runs(ids[0][0])
    done = await stack.finished_run(run["run_id"])
    assert "Completed" == done["status"]
    assert f"ord-{key}" == done["output"], "ctx.event.id is the producer's id"
    await asyncio.sleep(1.0)  # a second run would have been started by now
    for other in ids[1:]:
        r = await stack.http.get(f"/v1/events/{other[0]}/runs")
        assert [] == r.json()["data"]
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "run"])


async def test_c03_invoking_missing_function_fails_promptly(stack: Stack) -> None:
    """invoke_by_id of an unknown id: prompt non-retriable failure naming it; on_failure once."""
    key = new_key()
    run = await stack.run_event("cases/invoke-missing", {"key": key}, timeout=15)
    assert "Failed" == run["status"]
    assert "FunctionNotFoundError" == run["output"]["name"]
    assert "cases-no-such-fn" in run["output"]["message"]
    log = stack.worker.log_path.read_text(errors="replace").splitlines()
    assert any("run failed: FunctionNotFoundError" in line and run["run_id"] in line for line in log)
    (failure,) = await stack.wait_records(key, "on_failure", 1)
    assert "cases-invoke-missing" == failure["function_id"]
    await asyncio.sleep(1.0)
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "on_failure"])


async def test_c04_loop_steps_sleep_once_each_and_complete(stack: Stack) -> None:
    """Repeated ids become wait, wait:1, wait:2; each sleeps once; three work results."""
    key = new_key()
    run = await stack.run_event("cases/loop", {"key": key})
    assert "Completed" == run["status"]
    assert [0, 10, 20] == run["output"]
    work = [r for r in stack.records_of(key) if r["what"] == "work"]
    assert [0, 1, 2] == [r["i"] for r in work], "each work step ran exactly once"
    outside = [r for r in stack.records_of(key) if r["what"] == "outside"]
    assert len(outside) > 3, "code outside steps re-runs on replay (that is the model)"

    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    converter = stack.client.data_converter.payload_converter
    timers = [
        converter.from_payload(e.user_metadata.summary, str)
        for e in history.events
        if e.event_type == temporalio.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert ["wait", "wait:1", "wait:2"] == timers


@pytest.mark.parametrize("pause", ["wait", "sleep", "invoke"])
async def test_c05_step_fails_right_after_pause_retries_0(stack: Stack, pause: str) -> None:
    """retries=0: the step after a wait/sleep/invoke fails the run promptly; on_failure once."""
    key = new_key()
    (event_id,) = await stack.send({"name": "cases/pause-then-fail", "data": {"key": key, "pause": pause}})
    (run,) = await stack.runs(event_id)
    if pause == "wait":
        await stack.wait_history_event(run["run_id"])
        await stack.send({"name": "cases/resume", "data": {"key": key}})
    done = await stack.finished_run(run["run_id"], timeout=20)
    assert "Failed" == done["status"]
    assert "ValueError" == done["output"]["name"]
    assert f"boom {key}" == done["output"]["message"]
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "attempt"])
    await stack.wait_records(key, "on_failure", 1)
    await asyncio.sleep(1.0)
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "on_failure"])


async def test_c05_step_fails_after_sleep_retries_1_two_attempts(stack: Stack) -> None:
    """retries=1: two attempts of the failing step, then the run fails; on_failure once."""
    key = new_key()
    run = await stack.run_event("cases/pause-then-fail-retry1", {"key": key, "pause": "sleep"}, timeout=20)
    assert "Failed" == run["status"]
    assert 2 == len([r for r in stack.records_of(key) if r["what"] == "attempt"])
    await stack.wait_records(key, "on_failure", 1)


async def test_c07_unquoted_string_in_wait_expression_fails_visibly(stack: Stack) -> None:
    """`== doc-42` fails the step at once with an error showing the expression."""
    run = await stack.run_event("cases/wait-doc", {"key": new_key(), "doc_id": "doc-42"}, timeout=10)
    assert "Failed" == run["status"]
    assert "ExpressionError" == run["output"]["name"]
    assert "async.data.doc_id == doc-42" in run["output"]["message"]


async def test_c07_quoted_string_in_wait_expression_matches(stack: Stack) -> None:
    """Quoting the literal (`== 'doc-42'`) matches the approval event."""
    doc = f"doc-{new_key()}"
    (event_id,) = await stack.send({"name": "cases/wait-doc", "data": {"doc_id": doc, "quoted": True}})
    (run,) = await stack.runs(event_id)
    await stack.wait_history_event(run["run_id"])
    await stack.send({"name": "doc/approved", "data": {"doc_id": doc, "by": "ann"}})
    done = await stack.finished_run(run["run_id"])
    assert {"approved": True, "by": "ann"} == done["output"]


async def test_c08_non_retriable_error_in_step_is_not_retried(stack: Stack) -> None:
    """NonRetriableError: one attempt, run Failed, one function.failed, on_failure once."""
    key = new_key()
    run = await stack.run_event("cases/charge", {"key": key}, timeout=15)
    assert "Failed" == run["status"]
    assert {"name": "NonRetriableError", "message": "card declined"} == {
        k: run["output"][k] for k in ("name", "message")
    }
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "attempt"])
    (failure,) = await stack.wait_records(key, "on_failure", 1)
    assert "card declined" == failure["error"]["message"]

    await asyncio.sleep(1.0)
    assert 1 == len([r for r in stack.records_of(key) if r["what"] == "on_failure"])
