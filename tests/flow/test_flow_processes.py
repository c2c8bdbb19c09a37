"""Start-time limits hold across processes: two gateways and two workers share one state (the
entity workflows in Temporal), and it outlives the processes that used it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from e2e_support import eventually
from flow_support import FlowStack, gateway_up

pytestmark = pytest.mark.temporal


async def _post(http: httpx.AsyncClient, events: list[dict[str, Any]]) -> list[str]:
    r = await http.post("/e/k", json=events)
    assert 200 == r.status_code, r.text
    return list(r.json()["ids"])


async def test_flow_rate_limit_holds_across_two_gateways_and_two_workers(flow: FlowStack, tmp_path) -> None:
    gateway2, url2 = flow.start_gateway("flow-gateway2", tmp_path)
    worker2 = flow.start_worker("flow-worker2", tmp_path)
    http2 = httpx.AsyncClient(base_url=url2, timeout=30)
    try:
        await eventually(lambda: gateway_up(http2), timeout=60, what="second gateway")
        await asyncio.sleep(1.2)  # its registry cache
        await asyncio.sleep(2.0)  # the second worker polls too

        # rate_limit 20 per 24 h (capacity 3): 20 events at once, half through each gateway.
        key = uuid.uuid4().hex[:10]
        events = [{"name": "flow/rate-limit-burst", "data": {"key": key, "n": i}} for i in range(20)]
        ids_a, ids_b = await asyncio.gather(_post(flow.http, events[::2]), _post(http2, events[1::2]))
        runs = [(await flow.runs(eid))[0] for eid in ids_a + ids_b]
        admitted = sum(r["status"] != "Skipped" for r in runs)
        print(f"across processes: {admitted} of 20 admitted (capacity 3)")
        assert 3 == admitted
        await flow.wait_records(key, "started", 3)

        # idempotency: 10 events of one cart through both gateways -> exactly one run.
        cart = uuid.uuid4().hex
        key2 = uuid.uuid4().hex[:10]
        carts = [{"name": "flow/idempotent", "data": {"key": key2, "cart_id": cart, "n": i}} for i in range(10)]
        ids_a, ids_b = await asyncio.gather(_post(flow.http, carts[::2]), _post(http2, carts[1::2]))
        runs = [(await flow.runs(eid))[0] for eid in ids_a + ids_b]
        assert 1 == sum(r["status"] != "Skipped" for r in runs)
    finally:
        await http2.aclose()
        gateway2.stop()
        worker2.stop()

    # The processes that decided are gone; the state is not.
    (again,) = await flow.send({"name": "flow/idempotent", "data": {"key": key2, "cart_id": cart}})
    assert "idempotent" == (await flow.runs(again))[0]["skip"]["reason"]
    await asyncio.sleep(1.0)
    assert 1 == len(flow.started(key2))
