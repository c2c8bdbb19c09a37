"""A stock Inngest TypeScript SDK app (npm `inngest`, run with the machine's Node.js) on Temporal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from bridge_support import BridgeStack, SdkApp
from e2e_support import eventually

pytestmark = pytest.mark.temporal


async def test_bridge_ts_step_sleep_wait_and_invoke_complete(bridge: BridgeStack, ts_any_app: SdkApp) -> None:
    ts_app = ts_any_app
    inline = ts_app.app_id.endswith("-inline")
    key = uuid.uuid4().hex[:10]
    event_id = await bridge.send(ts_app.event("journey"), {"name": "ada", "id": key, "x": 6})
    (run,) = await bridge.runs(event_id)
    run_id = run["run_id"]

    async def finished() -> dict[str, Any] | None:
        # Sent until the run has passed its wait: an event sent before the wait began never matches.
        await bridge.send(ts_app.event("go"), {"id": key, "ok": True})
        data = (await bridge.http.get(f"/v1/runs/{run_id}")).json()["data"]
        return data if data["status"] != "Running" else None

    done = await eventually(finished, timeout=60, interval=1.0, what="the TypeScript run to finish")
    assert "Completed" == done["status"], done
    assert {"greeting": "hello ada", "go": {"id": key, "ok": True}, "invoked": {"sq": 36}} == done["output"]
    assert ts_app.fn("journey") == await bridge.workflow_type(run_id)
    # The first step: its own activity, or run inside the first call (inline).
    first = (await bridge.activity_types(run_id))[0]
    assert ("__discover" if inline else "greet") == first
    history = await bridge.history(run_id)
    assert any(e.HasField("timer_started_event_attributes") for e in history)
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        for e in history
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    assert [ts_app.fn("child")] == children
