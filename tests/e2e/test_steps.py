"""Step kinds and error handling through the real stack."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid

import pytest
import temporalio.api.enums.v1
import temporalio.client
import temporalio.service

from e2e_support import Stack, eventually

pytestmark = pytest.mark.temporal


def new_key() -> str:
    return uuid.uuid4().hex[:12]


async def test_step_retries_until_success_with_attempt_counter(stack: Stack) -> None:
    """A failing step is retried (ctx.attempt counts 0, 1, 2) and its result memoized."""
    key = new_key()
    run = await stack.run_event("cases/flaky", {"key": key})
    assert "Completed" == run["status"]
    assert {"ok_at": 2} == run["output"]
    assert [0, 1, 2] == [r["attempt"] for r in stack.records_of(key)]


async def test_step_error_after_exhausted_retries_can_be_caught(stack: Stack) -> None:
    """retries=1: two attempts, then StepError raised into the handler, which catches it."""
    key = new_key()
    run = await stack.run_event("cases/step-error", {"key": key})
    assert {"caught": "ValueError", "message": f"boom {key}"} == run["output"]
    assert 2 == len(stack.records_of(key))


async def test_retry_after_error_sets_next_attempt_time(stack: Stack) -> None:
    """RetryAfterError(2 s) delays the next attempt by about 2 s (not the 1 s backoff)."""
    key = new_key()
    run = await stack.run_event("cases/retry-after", {"key": key})
    assert "done" == run["output"]
    first, second = stack.records_of(key)
    assert 1.8 <= second["t"] - first["t"] < 6.0


async def test_parallel_wait_mode_runs_branch_heads_first(stack: Stack) -> None:
    """group.parallel WAIT: a-1 and x-1 both finish before a-2 or x-2 starts; tuple of results."""
    key = new_key()
    run = await stack.run_event("cases/parallel", {"key": key})
    assert ["a1a2", "x1x2"] == run["output"]
    order = [r["id"] for r in sorted(stack.records_of(key), key=lambda r: r["t"])]
    assert {"a-1", "x-1"} == set(order[:2])
    assert {"a-2", "x-2"} == set(order[2:])


async def test_invoke_returns_child_result_as_child_workflow(stack: Stack) -> None:
    """step.invoke runs the child as a Temporal child workflow and returns its result."""
    key = new_key()
    run = await stack.run_event("cases/invoke-child", {"key": key})
    assert {"got": {"child_of": key}} == run["output"]
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        for e in history.events
        if e.event_type == temporalio.api.enums.v1.EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert ["cases-child"] == children


async def test_send_event_step_triggers_other_functions(stack: Stack) -> None:
    """step.send_event returns ids, and the event it sends starts its own run."""
    key = new_key()
    run = await stack.run_event("cases/sender", {"key": key})
    (sent_id,) = run["output"]
    (child,) = await stack.runs(sent_id)
    done = await stack.finished_run(child["run_id"])
    assert {"child_of": f"{key}-sent"} == done["output"]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", 'send_event: event[0].name must not be empty: use a name such as "app/user.created"'),
        # ran another function's on_failure handler with whatever data it carried
        ("inngest/function.failed", 'send_event: event[0].name "inngest/function.failed" is reserved'),
        ("a\x00b", "send_event: event[0].name 'a\\x00b' holds the control character '\\x00'"),
    ],
)
async def test_send_event_step_refuses_names_the_event_api_refuses(
    stack: Stack, name: str, error: str
) -> None:
    run = await stack.run_event("cases/send-named", {"name": name}, timeout=30)
    assert "Failed" == run["status"], run
    assert run["output"]["message"].startswith(error), run["output"]
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert 1 == started[-1].activity_task_started_event_attributes.attempt  # not retried


async def test_sync_handler_in_old_ctx_step_style(stack: Stack) -> None:
    """A sync handler taking (ctx, step) (inngest 0.4 style) runs, sleeps and returns."""
    run = await stack.run_event("cases/sync", {"key": new_key()})
    assert 42 == run["output"]["n"]
    assert 0 == run["output"]["attempt"]
    assert run["run_id"] == run["output"]["run_id"]


async def test_wait_for_event_timeout_returns_none(stack: Stack) -> None:
    """No matching event within the timeout: wait_for_event returns None."""
    run = await stack.run_event("cases/wait-timeout", {"key": new_key()})
    assert {"got": None} == run["output"]


async def test_wait_ignores_event_sent_before_wait_began(stack: Stack) -> None:
    """An event received before the wait was registered does not resume it (Inngest's rule)."""
    key = new_key()
    (event_id,) = await stack.send({"name": "cases/pause-then-fail", "data": {"key": key, "pause": "wait"}})
    await stack.send({"name": "cases/resume", "data": {"key": key}})  # very likely before the wait
    (run,) = await stack.runs(event_id)

    await stack.wait_history_event(run["run_id"], what="the wait to begin")
    started = time.time()
    await asyncio.sleep(1.0)
    r = (await stack.http.get(f"/v1/runs/{run['run_id']}")).json()["data"]
    if r["status"] == "Running":  # the early event did not match: a new one does
        await stack.send({"name": "cases/resume", "data": {"key": key}})
    done = await stack.finished_run(run["run_id"])
    assert "Failed" == done["status"]  # resumed, then its step fails (retries=0)
    attempts = [x for x in stack.records_of(key) if x["what"] == "attempt"]
    assert 1 == len(attempts)
    if r["status"] == "Running":
        assert attempts[0]["t"] >= started


async def test_wildcard_and_exact_triggers_start_one_run(stack: Stack) -> None:
    """A function whose exact and wildcard triggers both match runs once."""
    (event_id,) = await stack.send({"name": "cases/wild.one", "data": {}})
    (run,) = await stack.runs(event_id)
    assert "cases/wild.one" == (await stack.finished_run(run["run_id"]))["output"]
    await asyncio.sleep(0.5)
    assert 1 == len((await stack.http.get(f"/v1/events/{event_id}/runs")).json()["data"])
    (other,) = await stack.send({"name": "cases/wild.two", "data": {}})
    (run2,) = await stack.runs(other)
    assert "cases-wildcard" == run2["function_id"]


async def test_trigger_expression_filters_events(stack: Stack) -> None:
    """TriggerEvent(expression=...) starts a run only when the expression is true."""
    (low,) = await stack.send({"name": "cases/filtered", "data": {"amount": 5}})
    (high,) = await stack.send({"name": "cases/filtered", "data": {"amount": 500}})
    (run,) = await stack.runs(high)
    assert 500 == (await stack.finished_run(run["run_id"]))["output"]
    await asyncio.sleep(0.5)
    assert [] == (await stack.http.get(f"/v1/events/{low}/runs")).json()["data"]


async def test_cancel_run_through_rest(stack: Stack) -> None:
    """DELETE /v1/runs/{id} cancels a waiting run: status Cancelled."""
    key = new_key()
    (event_id,) = await stack.send({"name": "cases/pause-then-fail", "data": {"key": key, "pause": "wait"}})
    (run,) = await stack.runs(event_id)
    r = await stack.http.delete(f"/v1/runs/{run['run_id']}")
    assert 200 == r.status_code, r.text
    done = await stack.finished_run(run["run_id"])
    assert "Cancelled" == done["status"]
    assert [] == [x for x in stack.records_of(key) if x["what"] == "on_failure"]


async def test_event_with_a_future_ts_starts_its_run_at_that_time(stack: Stack) -> None:
    """Inngest enqueues a run at max(now, event.ts): a scheduled event."""
    key = new_key()
    at = time.time() + 3
    (event_id,) = await stack.send({"name": "cases/two-steps", "data": {"key": key}, "ts": int(at * 1000)})
    (run,) = await stack.runs(event_id)
    assert "Scheduled" == run["status"]  # Inngest's status for a run waiting for its time
    started_at = datetime.datetime.fromisoformat(run["run_started_at"]).timestamp()
    assert abs(started_at - at) < 0.5, (run["run_started_at"], at)  # it was the request's time, 3 s early
    assert "Scheduled" == (await stack.http.get(f"/v1/runs/{run['run_id']}")).json()["data"]["status"]
    done = await stack.finished_run(run["run_id"], timeout=40)
    assert "Completed" == done["status"], done
    first = stack.records_of(key)[0]
    assert "fetch-user" == first["what"]
    assert first["t"] >= at - 0.05  # not before its time (clocks are the same machine's)


async def test_a_scheduled_run_can_be_cancelled_before_its_time(stack: Stack) -> None:
    key = new_key()
    at = time.time() + 30
    (event_id,) = await stack.send({"name": "cases/two-steps", "data": {"key": key}, "ts": int(at * 1000)})
    (run,) = await stack.runs(event_id)
    assert "Scheduled" == run["status"]
    r = await stack.http.delete(f"/v1/runs/{run['run_id']}")
    assert 200 == r.status_code, r.text
    done = await stack.finished_run(run["run_id"], timeout=20)
    assert "Cancelled" == done["status"], done
    assert time.time() < at  # it did not wait for its time to end
    assert done["run_started_at"] == done["ended_at"], done  # it never started (was: its due time)
    assert [] == [r for r in stack.records_of(key) if r["what"] == "fetch-user"]


async def test_cancelled_run_takes_its_wait_out_of_the_pause_router(stack: Stack) -> None:
    """A run cancelled while it waits leaves no pause behind (else it would linger to its timeout)."""
    doc = new_key()
    (event_id,) = await stack.send({"name": "cases/wait-doc", "data": {"doc_id": doc, "quoted": True}})
    (run,) = await stack.runs(event_id)
    router = stack.client.get_workflow_handle("inngest-pauses:doc/approved")

    async def waiting() -> bool:
        try:
            keys = await router.query("pauses")
        except temporalio.service.RPCError:
            return False  # the router is not started yet
        return any(k.startswith(f"{run['run_id']}/") for k in keys)

    await eventually(waiting, what="the run's pause in the router")
    r = await stack.http.delete(f"/v1/runs/{run['run_id']}")
    assert 200 == r.status_code, r.text
    assert "Cancelled" == (await stack.finished_run(run["run_id"]))["status"]

    async def gone() -> bool:
        try:
            keys = await router.query("pauses")
        except temporalio.service.RPCError:
            return True  # the router ended: it held nothing else
        except temporalio.client.WorkflowQueryFailedError:
            return True
        return not any(k.startswith(f"{run['run_id']}/") for k in keys)

    await eventually(gone, timeout=10, what="the pause to leave the router (its own timeout is 30 s)")


async def test_steps_awaited_together_with_asyncio_gather_all_run(stack: Stack) -> None:
    """asyncio.gather of three step.run calls: each runs once and the run returns their values
    in order (the second was taken for a step nested in the first, and the run failed)."""
    key = new_key()
    run = await stack.run_event("cases/gathered", {"key": key}, timeout=40)
    assert ("Completed", [1, 2, 3]) == (run["status"], run["output"]), run["output"]
    assert [1, 2, 3] == sorted(r["n"] for r in stack.records_of(key))
