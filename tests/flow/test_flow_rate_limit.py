"""rate_limit: GCRA that drops, decided by an entity workflow in Temporal."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from flow_support import FlowStack
from e2e_support import eventually

pytestmark = pytest.mark.temporal


async def _outcomes(flow: FlowStack, event_ids: list[str]) -> list[dict[str, Any]]:
    """One run (started or Skipped) per event, from the REST API."""
    return [(await flow.runs(eid))[0] for eid in event_ids]


async def test_flow_rate_limit_5_per_day_admits_1_of_5_back_to_back(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    ids = await flow.send([{"name": "flow/rate-limit-day", "data": {"key": key, "n": i}} for i in range(5)])
    runs = await _outcomes(flow, ids)
    assert 1 == sum(r["status"] != "Skipped" for r in runs)
    skipped = [r for r in runs if r["status"] == "Skipped"]
    assert ["rate_limited"] * 4 == [r["skip"]["reason"] for r in skipped]
    assert all(r["function_id"] == "flow-rate-limit-day" for r in runs)
    assert all(r["run_id"].startswith("flow-rate-limit-day:skipped:") for r in skipped)
    await flow.wait_records(key, "started", 1)
    await asyncio.sleep(1.0)
    assert 1 == len(flow.started(key))
    # The skip is also on the run itself: GET /v1/runs/{id}.
    r = await flow.http.get(f"/v1/runs/{skipped[0]['run_id']}")
    assert "Skipped" == r.json()["data"]["status"]
    assert "at most 5 runs per 86400s" in r.json()["data"]["skip"]["message"]


async def test_flow_rate_limit_burst_then_one_per_emission_interval(flow: FlowStack) -> None:
    """limit 10 per 20 s: emission 2 s, burst 1 -> 2 of 6 at once, then 1 more after ~2 s."""
    key = uuid.uuid4().hex[:10]
    ids = await flow.send([{"name": "flow/rate-limit", "data": {"key": key, "n": i}} for i in range(6)])
    first = await _outcomes(flow, ids)
    assert 2 == sum(r["status"] != "Skipped" for r in first)
    # Right away, still over the limit.
    (again,) = await flow.send({"name": "flow/rate-limit", "data": {"key": key, "n": 6}})
    assert "Skipped" == (await flow.runs(again))[0]["status"]
    await asyncio.sleep(2.6)  # one emission interval (2 s) plus margin
    later = await flow.send([{"name": "flow/rate-limit", "data": {"key": key, "n": 7 + i}} for i in range(2)])
    assert 1 == sum(r["status"] != "Skipped" for r in await _outcomes(flow, later))
    await flow.wait_records(key, "started", 3)


async def test_flow_rate_limit_keys_are_separate_and_missing_fields_share_one(flow: FlowStack) -> None:
    a, b = uuid.uuid4().hex[:10], uuid.uuid4().hex[:10]
    ids = await flow.send(
        [{"name": "flow/rate-limit-day", "data": {"key": k}} for k in (a, b, a, b)]
    )
    runs = await _outcomes(flow, ids)
    # Events of one request are routed concurrently: per key, exactly one of the two starts.
    assert [1, 1] == [sum(r["status"] != "Skipped" for r in runs[i::2]) for i in (0, 1)]
    # No key field at all: null, one shared key for every such event (Inngest). Another test
    # could have used it already, so only "at most one of two back-to-back events" is certain.
    ids = await flow.send([{"name": "flow/rate-limit-day", "data": {}} for _ in range(2)])
    assert 1 <= sum(r["status"] == "Skipped" for r in await _outcomes(flow, ids))


async def test_flow_rate_limit_key_false_means_not_limited(flow: FlowStack) -> None:
    ids = await flow.send([{"name": "flow/rate-limit-day", "data": {"key": False, "n": i}} for i in range(3)])
    assert [] == [r for r in await _outcomes(flow, ids) if r["status"] == "Skipped"]


async def test_flow_rate_limit_key_error_starts_no_run_and_says_why(flow: FlowStack) -> None:
    ids = await flow.send([{"name": "flow/rate-limit-key-error", "data": {"key": "x", "d": 0}}])
    (run,) = await flow.runs(ids[0])
    assert "Skipped" == run["status"]
    assert "rate_limit_key_error" == run["skip"]["reason"]
    assert "division by zero" in run["skip"]["message"]
    ok = await flow.send([{"name": "flow/rate-limit-key-error", "data": {"key": "y", "d": 2}}])
    (run,) = await flow.runs(ok[0])
    assert "Skipped" != run["status"]


async def test_flow_rate_limit_skip_record_shows_in_temporal(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    ids = await flow.send([{"name": "flow/rate-limit-day", "data": {"key": key}} for _ in range(2)])
    runs = await _outcomes(flow, ids)
    (skipped,) = [r for r in runs if r["status"] == "Skipped"]
    handle = flow.client.get_workflow_handle(skipped["run_id"])

    async def closed() -> Any:
        d = await handle.describe()
        return d if d.close_time is not None else None

    d = await eventually(closed, what="skip record to be closed")
    assert "flow-rate-limit-day" == d.workflow_type
    assert "TERMINATED" == d.status.name
    assert (await d.static_summary() or "").startswith("skipped (rate_limited)")
