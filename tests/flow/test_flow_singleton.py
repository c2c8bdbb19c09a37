"""singleton: skip drops new runs while one is active; cancel cancels the active run and starts
the new one."""

from __future__ import annotations

import uuid

import pytest
from e2e_support import eventually
from flow_support import FlowStack

pytestmark = pytest.mark.temporal


async def test_flow_singleton_skip_drops_runs_while_one_is_active(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    (first,) = await flow.send({"name": "flow/singleton-skip", "data": {"key": key, "n": 0, "hold": 3}})
    (active,) = await flow.runs(first)
    await flow.wait_records(key, "started", 1)
    more = await flow.send([{"name": "flow/singleton-skip", "data": {"key": key, "n": i}} for i in (1, 2)])
    for eid in more:
        (skip,) = await flow.runs(eid)
        assert ("Skipped", "singleton_skipped", active["run_id"]) == (
            skip["status"], skip["skip"]["reason"], skip["skip"]["run_id"]
        )
    # Another key is independent.
    (other,) = await flow.send({"name": "flow/singleton-skip", "data": {"key": key + "x", "hold": 1}})
    assert "Skipped" != (await flow.runs(other))[0]["status"]
    done = await flow.finished_run(active["run_id"])
    assert "Completed" == done["status"]
    (after,) = await flow.send({"name": "flow/singleton-skip", "data": {"key": key, "n": 3, "hold": 1}})
    (run,) = await flow.runs(after)
    assert "Skipped" != run["status"]
    runs = await flow.wait_records(key, "started", 2)
    assert [0, 3] == [r["n"] for r in runs]


async def test_flow_singleton_cancel_cancels_the_active_run(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    (first,) = await flow.send({"name": "flow/singleton-cancel", "data": {"key": key, "n": 0}})
    (old,) = await flow.runs(first)
    await flow.wait_records(key, "started", 1)
    (second,) = await flow.send({"name": "flow/singleton-cancel", "data": {"key": key, "n": 1, "hold": 1}})
    (new,) = await flow.runs(second)
    assert "Skipped" != new["status"]
    cancelled = await flow.finished_run(old["run_id"], timeout=20)
    assert "Cancelled" == cancelled["status"]
    (note,) = await flow.wait_records(key, "cancelled", 1)
    assert old["run_id"] == note["run_id"]
    assert "Completed" == (await flow.finished_run(new["run_id"]))["status"]
    assert [0, 1] == [r["n"] for r in flow.started(key)]


async def test_flow_singleton_applies_to_debounced_runs(flow: FlowStack) -> None:
    """debounce (1 s) then singleton (skip), Inngest's order: a burst's run is skipped while the
    previous burst's run is still active."""
    key = uuid.uuid4().hex[:10]
    first = await flow.send([{"name": "flow/debounce-singleton", "data": {"key": key, "n": n, "hold": 6}} for n in (0, 1)])
    await flow.wait_records(key, "started", 1, timeout=15)
    runs = [(await flow.runs(eid))[0] for eid in first]
    (active,) = [r for r in runs if r["status"] != "Skipped"]
    # A second burst while the first run sleeps: debounced, then refused by the singleton.
    (second,) = await flow.send({"name": "flow/debounce-singleton", "data": {"key": key, "n": 2}})

    async def skipped() -> object:
        data = await flow.all_runs(second)
        return data if data and data[0]["status"] == "Skipped" else None

    (skip,) = await eventually(skipped, timeout=15, what="the debounced run to be skipped")
    assert ("singleton_skipped", active["run_id"]) == (skip["skip"]["reason"], skip["skip"]["run_id"])
    assert "Completed" == (await flow.finished_run(active["run_id"], timeout=30))["status"]
    # Once it ended, the next burst runs.
    await flow.send({"name": "flow/debounce-singleton", "data": {"key": key, "n": 3}})
    runs = await flow.wait_records(key, "started", 2, timeout=15)
    assert 3 == runs[1]["n"]
