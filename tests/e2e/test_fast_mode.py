"""compat.temporal_options(local_steps=True): steps run as local activities, same semantics."""

from __future__ import annotations

import uuid

import pytest
import temporalio.api.enums.v1
from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_local_steps_function_completes_with_retries_and_no_activity_tasks(stack: Stack) -> None:
    key = uuid.uuid4().hex[:12]
    run = await stack.run_event("cases/fast-steps", {"key": key}, timeout=60)
    assert {"total": sum(range(20)), "flaky": {"ok_at": 2}} == run["output"]
    assert [0, 1, 2] == [r["attempt"] for r in stack.records_of(key)], "retries work as with activities"
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    kinds = temporalio.api.enums.v1.EventType
    activities = [e for e in history.events if e.event_type == kinds.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    markers = [e for e in history.events if e.event_type == kinds.EVENT_TYPE_MARKER_RECORDED]
    assert [] == activities
    assert len(markers) >= 21, "one marker per step (plus discovery and finish)"
