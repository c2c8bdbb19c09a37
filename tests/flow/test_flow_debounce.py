"""debounce: one run per burst, with the event of highest ts, `period` after the last event, at
most about `timeout` after the first (period 2 s, timeout 6 s in flow_app.py)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from flow_support import FlowStack

pytestmark = pytest.mark.temporal


async def test_flow_debounce_runs_once_with_the_last_event_period_after_it(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    ids = []
    for n in range(3):
        ids += await flow.send({"name": "flow/debounce", "data": {"key": key, "n": n}})
        last_sent = time.time()
        await asyncio.sleep(0.5)
    (started,) = await flow.wait_records(key, "started", 1, timeout=20)
    delay = started["t"] - last_sent
    print(f"debounce: run started {delay:.2f}s after the last event (period 2 s)")
    assert 1.8 <= delay < 5.0  # the period starts when the entity takes the event
    assert 2 == started["n"]
    # The last event's run; the two before were debounced into it.
    (run,) = await flow.runs(ids[2])
    assert "Skipped" != run["status"]
    for eid in ids[:2]:
        (skip,) = await flow.runs(eid)
        assert "Skipped" == skip["status"]
        assert "debounced" == skip["skip"]["reason"]
        assert run["run_id"] == skip["skip"]["run_id"]
    await asyncio.sleep(1.5)
    assert 1 == len(flow.started(key))


async def test_flow_debounce_older_event_neither_replaces_nor_extends(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    now_ms = int(time.time() * 1000)
    await flow.send({"name": "flow/debounce", "data": {"key": key, "n": 1}, "ts": now_ms})
    sent = time.time()
    await asyncio.sleep(1.0)
    (older,) = await flow.send({"name": "flow/debounce", "data": {"key": key, "n": 0}, "ts": now_ms - 60_000})
    (started,) = await flow.wait_records(key, "started", 1, timeout=20)
    delay = started["t"] - sent
    print(f"debounce: older event ignored; run started {delay:.2f}s after the first event")
    assert 1 == started["n"]
    assert 1.8 <= delay < 2.9 + 1.5  # not extended by the older event (it came 1 s later)
    (skip,) = await flow.runs(older)
    assert "debounced" == skip["skip"]["reason"]
    assert "older" in skip["skip"]["message"]


async def test_flow_debounce_timeout_caps_the_postponement(flow: FlowStack) -> None:
    """Events every 1 s for 9 s: the first run starts ~6 s after the first event (timeout), the
    next burst's run after the events stop."""
    key = uuid.uuid4().hex[:10]
    first_sent = time.time()
    for n in range(10):
        await flow.send({"name": "flow/debounce", "data": {"key": key, "n": n}})
        last_sent = time.time()
        await asyncio.sleep(max(0.0, first_sent + n + 1 - time.time()))
    runs = await flow.wait_records(key, "started", 2, timeout=30)
    first_delay = runs[0]["t"] - first_sent
    second_delay = runs[1]["t"] - last_sent
    print(f"debounce timeout: first run {first_delay:.2f}s after the first event (timeout 6 s), "
          f"second {second_delay:.2f}s after the last event")
    assert 6.0 <= first_delay < 8.5
    assert 1.8 <= second_delay < 5.0
    assert 9 == runs[1]["n"]
    await asyncio.sleep(1.0)
    assert 2 == len(flow.started(key))
