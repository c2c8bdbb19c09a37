"""Throttle delays run starts with GCRA (never drops): limit 2 per 6 s, burst 1."""

from __future__ import annotations

import uuid

import pytest
from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_throttle_starts_three_at_once_then_one_every_three_seconds(stack: Stack) -> None:
    key = uuid.uuid4().hex[:12]
    event_ids = await stack.send(
        [{"name": "cases/throttled", "data": {"key": key, "label": str(i)}} for i in range(5)]
    )
    runs = [(await stack.runs(e))[0]["run_id"] for e in event_ids]
    results = [await stack.finished_run(r, timeout=60) for r in runs]
    assert ["Completed"] * 5 == [r["status"] for r in results], "throttle never drops"
    starts = sorted(r["t"] for r in stack.records_of(key) if r["what"] == "started")
    offsets = [t - starts[0] for t in starts]
    assert 5 == len(offsets)
    assert offsets[2] < 1.5, f"3 start at once (limit 2 + burst 1): {offsets}"
    assert 2.5 <= offsets[3] < 5.0, f"then one every 3 s: {offsets}"
    assert 5.5 <= offsets[4] < 8.0, f"then one every 3 s: {offsets}"


async def test_throttle_keys_are_independent(stack: Stack) -> None:
    keys = [uuid.uuid4().hex[:12] for _ in range(2)]
    event_ids = await stack.send(
        [{"name": "cases/throttled", "data": {"key": k, "label": "x"}} for k in keys for _ in range(3)]
    )
    for e in event_ids:
        (run,) = await stack.runs(e)
        assert "Completed" == (await stack.finished_run(run["run_id"], timeout=30))["status"]
    for k in keys:
        starts = sorted(r["t"] for r in stack.records_of(k) if r["what"] == "started")
        assert starts[-1] - starts[0] < 1.5, "each key has its own capacity"
