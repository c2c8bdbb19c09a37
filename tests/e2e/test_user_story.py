"""The README's user story, end to end: curl -> gateway -> Temporal -> REST, with Temporal's names."""

from __future__ import annotations

import pytest
import temporalio.api.enums.v1

from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_user_story_event_runs_function_with_temporal_names(stack: Stack) -> None:
    """An event posted like curl does starts `shop-sync-user`; REST and Temporal both show it."""
    r = await stack.http.post(
        "/e/anykey",
        json={"name": "user/created", "data": {"id": "123"}},
        headers={"content-type": "application/json"},
    )
    assert 200 == r.status_code
    body = r.json()
    assert 200 == body["status"]
    assert 1 == len(body["ids"])
    event_id = body["ids"][0]

    (run,) = await stack.runs(event_id)
    assert "shop-sync-user" == run["function_id"]
    assert event_id == run["event_id"]
    done = await stack.finished_run(run["run_id"])
    assert "Completed" == done["status"]
    assert {"synced": True, "crm_id": "crm-123"} == done["output"]
    assert done["ended_at"] is not None

    # The same from Inngest's listing endpoint, in Inngest's envelope.
    r = await stack.http.get(f"/v1/events/{event_id}/runs")
    listing = r.json()
    assert {"data", "metadata"} <= set(listing)
    assert "Completed" == listing["data"][0]["status"]

    # Temporal's view: workflow type = function id, one activity per step.run labelled by its
    # step id, a timer labelled by the sleep's id.
    handle = stack.client.get_workflow_handle(run["run_id"])
    desc = await handle.describe()
    assert "shop-sync-user" == desc.workflow_type
    history = await handle.fetch_history()
    types = temporalio.api.enums.v1.EventType
    converter = stack.client.data_converter.payload_converter
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == types.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert ["fetch-user", "sync-crm"] == activities
    timers = [
        converter.from_payload(e.user_metadata.summary, str)
        for e in history.events
        if e.event_type == types.EVENT_TYPE_TIMER_STARTED
    ]
    assert ["wait-for-sync"] == timers


async def test_user_story_wait_for_event_example(stack: Stack) -> None:
    """The example's approval flow resumes on the matching event only."""
    (event_id,) = await stack.send({"name": "doc/submitted", "data": {"doc_id": "d-1"}})
    (run,) = await stack.runs(event_id)

    await stack.wait_history_event(run["run_id"], what="the run to wait for doc/approved")
    await stack.send({"name": "doc/approved", "data": {"doc_id": "other", "reviewer": "eve"}})
    await stack.send({"name": "doc/approved", "data": {"doc_id": "d-1", "reviewer": "ann"}})
    done = await stack.finished_run(run["run_id"])
    assert {"doc_id": "d-1", "status": "approved", "by": "ann"} == done["output"]


async def test_user_story_cron_function_is_a_temporal_schedule(stack: Stack) -> None:
    """The example's cron trigger became a schedule with Inngest's TZ prefix honoured."""
    handle = stack.client.get_schedule_handle("inngest-cron:shop-nightly-report:0")
    desc = await handle.describe()
    action = desc.schedule.action
    assert "shop-nightly-report" == action.workflow  # type: ignore[union-attr]
    assert "Europe/Paris" == desc.schedule.spec.time_zone_name
    assert desc.info.next_action_times, "the schedule has upcoming runs"
