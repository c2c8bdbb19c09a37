"""No lost wake-up: every event accepted after a wait registered reaches it, via any gateway."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import temporalio.client
import temporalio.service
from e2e_support import Stack, eventually, extra_process_stack
from temporalio.api.enums.v1 import EventType

pytestmark = pytest.mark.temporal


async def test_waits_resume_with_two_gateway_processes(stack: Stack, tmp_path) -> None:
    """20 runs wait; each gets its event right after its wait registers, alternating gateways."""
    async with extra_process_stack(stack, tmp_path) as http2:
        keys = [uuid.uuid4().hex[:10] for _ in range(20)]
        event_ids = await stack.send([{"name": "cases/wait-key", "data": {"key": k}} for k in keys])
        runs = [(await stack.runs(eid))[0]["run_id"] for eid in event_ids]

        async def resume(i: int, key: str, run_id: str) -> None:
            await stack.wait_history_event(run_id, interval=0.02, what=f"run {run_id} to wait")
            http = stack.http if i % 2 == 0 else http2
            decoy = {"name": "cases/key-arrived", "data": {"key": key + "-other", "n": -1}}
            real = {"name": "cases/key-arrived", "data": {"key": key, "n": i}}
            r = await http.post("/e/k", json=[decoy, real])
            assert 200 == r.status_code, r.text

        await asyncio.gather(*(resume(i, k, r) for i, (k, r) in enumerate(zip(keys, runs))))
        results = [await stack.finished_run(r) for r in runs]
        assert list(range(20)) == [r["output"] for r in results]



async def test_the_pause_router_starts_no_timer_for_a_pause_that_expires_after_its_timer(
    stack: Stack,
) -> None:
    # Four runs wait 30 s for doc/approved, one after another: the first pause sets the router's
    # expiry timer; the later ones expire after it fires, so they add no timer (restarting it on
    # every change cost two history events each).
    router = stack.client.get_workflow_handle("inngest-pauses:doc/approved")
    run_ids = []
    for _ in range(4):
        data = {"doc_id": uuid.uuid4().hex, "quoted": True}
        run_ids.append(await stack.waiting_run("cases/wait-doc", data))
    for run_id in run_ids:
        r = await stack.http.delete(f"/v1/runs/{run_id}")
        assert r.status_code == 200, r.text
        assert (await stack.finished_run(run_id))["status"] == "Cancelled"

    async def pauses_gone() -> bool:
        try:
            keys = await router.query("pauses")
        except (temporalio.service.RPCError, temporalio.client.WorkflowQueryFailedError):
            return True  # the router ended: it held nothing else
        return not any(k.split("/")[0] in run_ids for k in keys)

    await eventually(pauses_gone, timeout=10, what="the cancelled runs' pauses to leave the router")
    ours = timers = 0
    async for event in router.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == "register":
                ours += json.loads(attrs.input.payloads[0].data)["run_id"] in run_ids
        timers += event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    assert ours == 4, ours
    assert timers <= 2, timers  # was one per register and unregister


async def test_the_pause_router_ends_once_its_pauses_expire(stack: Stack) -> None:
    # cases/wait-timeout waits 1 s for cases/never, which nothing sends: the router's expiry timer
    # drops the pause, and a router with no pause left ends.
    (run,) = await stack.runs((await stack.send({"name": "cases/wait-timeout", "data": {"key": "x"}}))[0])
    done = await stack.finished_run(run["run_id"])
    assert done["status"] == "Completed", done
    router = stack.client.get_workflow_handle("inngest-pauses:cases/never")

    async def router_ended() -> bool:
        return (await router.describe()).status != temporalio.client.WorkflowExecutionStatus.RUNNING

    await eventually(router_ended, timeout=15, what="the router to drop its expired pause and end")
    assert (await router.describe()).status == temporalio.client.WorkflowExecutionStatus.COMPLETED


async def test_pauses_survive_the_routers_continue_as_new(stack: Stack) -> None:
    # A router continues as new after 1,000 history events (or 500 delivered events), carrying its
    # pauses: a run waiting before it still gets its event after it; a woken run that is gone
    # (here: pauses of runs that never existed) is skipped.
    key = uuid.uuid4().hex
    run_id = await stack.waiting_run("cases/wait-key", {"key": key})
    router = stack.client.get_workflow_handle("inngest-pauses:cases/key-arrived")
    first_run_id = (await router.describe()).run_id
    now_ms = int(time.time() * 1000)
    fakes = [
        {"run_id": f"gone-{key}-{i}", "step": "w", "expression": f'async.data.key == "{key}-{i}"',
         "created_ms": now_ms, "expires_ms": now_ms + 120_000}
        for i in range(1500)
    ]
    sent = 0
    for pause in fakes:  # until the router has continued as new
        await router.signal("register", pause)
        sent += 1
        if sent % 100 == 0 and (await router.describe()).run_id != first_run_id:
            break
    assert (await router.describe()).run_id != first_run_id, f"no continue-as-new after {sent} registers"

    await stack.send({"name": "cases/key-arrived", "data": {"key": f"{key}-0", "n": 0}})  # wakes a gone run
    await stack.send({"name": "cases/key-arrived", "data": {"key": key, "n": 5}})

    finished = await stack.finished_run(run_id)
    assert (finished["status"], finished["output"]) == ("Completed", 5)
    held = set(await router.query("pauses"))
    assert f"gone-{key}-0/w" not in held
    assert {f"{p['run_id']}/w" for p in fakes[1:sent]} <= held
    for pause in fakes[:sent]:
        await router.signal("unregister", pause)
