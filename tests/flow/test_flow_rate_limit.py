"""rate_limit: GCRA that drops, decided by an entity workflow in Temporal."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from typing import Any

import pytest
from e2e_support import eventually
from flow_support import FlowStack

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
    r = await flow.http.delete(f"/v1/runs/{skipped[0]['run_id']}")
    assert 409 == r.status_code
    assert "status Skipped" in r.json()["error"]


async def test_flow_rate_limit_burst_then_one_per_emission_interval(flow: FlowStack) -> None:
    """limit 10 per 60 s: emission 6 s, burst 1 -> 2 of 6 at once, then 1 more after ~6 s."""
    key = uuid.uuid4().hex[:10]
    ids = await flow.send([{"name": "flow/rate-limit", "data": {"key": key, "n": i}} for i in range(6)])
    first = await _outcomes(flow, ids)
    assert 2 == sum(r["status"] != "Skipped" for r in first)
    # Right away, still over the limit.
    (again,) = await flow.send({"name": "flow/rate-limit", "data": {"key": key, "n": 6}})
    assert "Skipped" == (await flow.runs(again))[0]["status"]
    await asyncio.sleep(6.6)  # one emission interval (6 s) plus margin
    later = await flow.send([{"name": "flow/rate-limit", "data": {"key": key, "n": 7 + i}} for i in range(2)])
    assert 1 == sum(r["status"] != "Skipped" for r in await _outcomes(flow, later))
    await flow.wait_records(key, "started", 3)


async def test_flow_rate_limit_resent_event_id_is_not_counted_twice(flow: FlowStack) -> None:
    """Capacity 2: an event, the same event re-sent (same id: deduped, not counted), then a new
    event still gets the second slot."""
    key = uuid.uuid4().hex[:10]
    same = {"name": "flow/rate-limit", "id": f"evt-{key}", "data": {"key": key, "n": 0}}
    (first,) = await flow.send(same)
    assert "Skipped" != (await flow.runs(first))[0]["status"]
    (again,) = await flow.send(same)
    (fresh,) = await flow.send({"name": "flow/rate-limit", "data": {"key": key, "n": 1}})
    assert "Skipped" != (await flow.runs(fresh))[0]["status"]
    await asyncio.sleep(1.0)
    assert [] == await flow.all_runs(again)  # a duplicate: no run, no skip record (as Inngest)
    await flow.wait_records(key, "started", 2)
    await asyncio.sleep(1.0)
    assert [0, 1] == sorted(r["n"] for r in flow.started(key))


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


async def test_flow_rate_limit_decision_cost_per_event(flow: FlowStack) -> None:
    """What the synchronous decision adds to POST /e: 15 single events to a function without
    options and 15 to a rate-limited one (fresh key each: entity start + update + run start)."""
    import statistics
    import time

    async def post_ms(event: dict[str, Any]) -> tuple[float, str]:
        started = time.perf_counter()
        (event_id,) = await flow.send(event)
        return (time.perf_counter() - started) * 1000, event_id

    plain = [await post_ms({"name": "flow/plain", "data": {}}) for _ in range(15)]
    limited = [
        await post_ms({"name": "flow/rate-limit-day", "data": {"key": uuid.uuid4().hex}}) for _ in range(15)
    ]
    print(
        f"POST /e median: plain {statistics.median(ms for ms, _ in plain):.1f} ms, "
        f"rate_limit (new key) {statistics.median(ms for ms, _ in limited):.1f} ms"
    )
    assert [] == [r for r in await _outcomes(flow, [eid for _, eid in limited]) if r["status"] == "Skipped"]


async def test_flow_a_request_re_sent_with_its_seed_leaves_one_skip_record(flow: FlowStack) -> None:
    """A re-sent request (same event-id seed, as SDKs send after a timeout) gets the same ids: the
    skipped event's record was created anew once the first had been closed (two executions of one
    run id); now the second start is refused and the record stays one."""
    key = uuid.uuid4().hex[:10]
    body = [{"name": "flow/rate-limit-day", "data": {"key": key, "n": i}} for i in range(2)]
    seed = {"x-inngest-event-id-seed": f"{int(time.time() * 1000)},{base64.b64encode(os.urandom(10)).decode()}"}
    first = await flow.http.post("/e/test", json=body, headers=seed)
    assert 200 == first.status_code, first.text
    runs = await _outcomes(flow, first.json()["ids"])
    (skipped,) = [r for r in runs if r["status"] == "Skipped"]
    again = await flow.http.post("/e/test", json=body, headers=seed)
    assert first.json()["ids"] == again.json()["ids"]
    executions = [e async for e in flow.client.list_workflows(f"WorkflowId = '{skipped['run_id']}'")]
    assert 1 == len(executions), [(e.run_id, e.status) for e in executions]
    await flow.wait_records(key, "started", 1)
    assert 1 == len(flow.started(key))
