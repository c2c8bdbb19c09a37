"""Start-time flow control applies to cron runs too: each occurrence of a flow-controlled
function's schedule goes through the routing core (here: a singleton that skips overlaps)."""

from __future__ import annotations

import asyncio

import pytest
import temporalio.client
from e2e_support import eventually
from flow_support import FlowStack

pytestmark = pytest.mark.temporal


async def test_flow_cron_occurrences_go_through_singleton(flow: FlowStack) -> None:
    handle = flow.client.get_schedule_handle("inngest-cron:flow-cron-singleton:0")
    desc = await handle.describe()
    assert "InngestCronTick" == desc.schedule.action.workflow  # type: ignore[union-attr]
    overlap = temporalio.client.ScheduleOverlapPolicy.ALLOW_ALL
    await handle.trigger(overlap=overlap)
    await flow.wait_records("cron-singleton", "started", 1, timeout=20)
    await handle.trigger(overlap=overlap)  # while the first run holds the singleton

    async def runs() -> list[tuple[str, dict]] | None:
        found = []
        async for wf in flow.client.list_workflows("InngestFunctionId = 'flow-cron-singleton'"):
            found.append((wf.id, await wf.memo()))
        return found if len(found) >= 2 else None

    found = await eventually(runs, timeout=20, what="a run and a skip record")
    skips = [memo["inngest_skipped"] for _, memo in found if "inngest_skipped" in memo]
    assert ["singleton_skipped"] == [s["reason"] for s in skips]
    (run_id,) = [wf_id for wf_id, memo in found if "inngest_skipped" not in memo]
    assert skips[0]["run_id"] == run_id
    assert "Completed" == (await flow.finished_run(run_id))["status"]
    assert "inngest/scheduled.timer" == flow.started("cron-singleton")[0]["name"]
    await asyncio.sleep(1.0)
    assert 1 == len(flow.started("cron-singleton"))
