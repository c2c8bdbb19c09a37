"""idempotency: one run per key value per 24 h (Inngest's rate limit of 1 per 24 h per key)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from flow_support import FlowStack

pytestmark = pytest.mark.temporal


async def test_flow_idempotency_one_run_per_key(flow: FlowStack) -> None:
    cart_a, cart_b = uuid.uuid4().hex, uuid.uuid4().hex
    key = uuid.uuid4().hex[:10]
    events = [{"name": "flow/idempotent", "data": {"key": key, "cart_id": c, "n": i}}
              for i, c in enumerate([cart_a, cart_a, cart_b, cart_a, cart_b])]
    ids = await flow.send(events)
    runs = [(await flow.runs(eid))[0] for eid in ids]
    started = {events[i]["data"]["cart_id"] for i, r in enumerate(runs) if r["status"] != "Skipped"}
    assert {cart_a, cart_b} == started
    assert 2 == sum(r["status"] != "Skipped" for r in runs)
    assert ["idempotent"] * 3 == [r["skip"]["reason"] for r in runs if r["status"] == "Skipped"]
    # Later, sequentially: still skipped (the window is 24 h).
    (later,) = await flow.send({"name": "flow/idempotent", "data": {"key": key, "cart_id": cart_a}})
    (run,) = await flow.runs(later)
    assert "Skipped" == run["status"]
    assert "already started a run within 24 h" in run["skip"]["message"]
    await flow.wait_records(key, "started", 2)
    await asyncio.sleep(1.0)
    assert 2 == len(flow.started(key))
