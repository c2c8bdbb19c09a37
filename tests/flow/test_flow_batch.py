"""batch_events: max_size 3, timeout 2 s, keyed; ctx.events holds the batch, ctx.event the first;
events whose if_exp is false run alone at once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from flow_support import FlowStack

pytestmark = pytest.mark.temporal


async def test_flow_batch_full_batches_start_at_once_and_the_rest_after_the_timeout(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    ids = []
    for n in range(7):  # sequential, so the order within batches is known
        ids += await flow.send({"name": "flow/batch", "data": {"key": key, "n": n}})
    sent = time.time()
    full = await flow.wait_records(key, "started", 2, timeout=10)
    assert [[0, 1, 2], [3, 4, 5]] == sorted(r["ns"] for r in full)
    assert [0, 3] == sorted(r["n"] for r in full)  # ctx.event is the first of the batch
    assert all(r["t"] - sent < 1.9 for r in full), "full batches start without waiting"
    runs = await flow.wait_records(key, "started", 3, timeout=10)
    last = [r for r in runs if r["ns"] == [6]]
    assert 1 == len(last)
    delay = last[0]["t"] - sent
    print(f"batch: partial batch started {delay:.2f}s after its event (timeout 2 s)")
    assert 1.8 <= delay < 5.0
    # The first event of each batch lists the batch's run; the others say where they went.
    (run0,) = await flow.runs(ids[0])
    assert run0["run_id"] == f"flow-batch:batch:{ids[0]}"
    (skip1,) = await flow.runs(ids[1])
    assert ("Skipped", "batched", run0["run_id"]) == (skip1["status"], skip1["skip"]["reason"], skip1["skip"]["run_id"])
    await asyncio.sleep(1.0)
    assert 3 == len(flow.started(key))


async def test_flow_batch_if_false_runs_alone_at_once(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    await flow.send({"name": "flow/batch", "data": {"key": key, "n": 0}})
    sent = time.time()
    await flow.send({"name": "flow/batch", "data": {"key": key, "n": 1, "solo": True}})
    (solo,) = await flow.wait_records(key, "started", 1, timeout=10)
    assert [1] == solo["ns"]
    assert solo["t"] - sent < 1.9
    runs = await flow.wait_records(key, "started", 2, timeout=10)
    assert [0] == runs[1]["ns"]


async def test_flow_batch_keys_batch_separately(flow: FlowStack) -> None:
    a, b = uuid.uuid4().hex[:10], uuid.uuid4().hex[:10]
    for n, k in enumerate([a, b, a, b, a]):
        await flow.send({"name": "flow/batch", "data": {"key": k, "n": n}})
    (ra,) = await flow.wait_records(a, "started", 1, timeout=10)
    assert [0, 2, 4] == ra["ns"]
    (rb,) = await flow.wait_records(b, "started", 1, timeout=10)
    assert [1, 3] == rb["ns"]


async def test_flow_batch_starts_before_it_would_pass_10_mib(flow: FlowStack) -> None:
    """Four events of ~2.9 MiB (max_size 10): the first three start as one batch when the fourth
    would take it past Inngest's 10 MiB; the fourth runs after the timeout."""
    key = uuid.uuid4().hex[:10]
    blob = "x" * (2900 * 1024)
    for n in range(4):
        await flow.send({"name": "flow/batch-big", "data": {"key": key, "n": n, "blob": blob}})
    runs = await flow.wait_records(key, "started", 2, timeout=30)
    assert [[0, 1, 2], [3]] == [r["ns"] for r in runs]
