"""Cron triggers as Temporal Schedules, reconciled with the app's functions when a worker starts."""

from __future__ import annotations

import logging

import temporalio.client
import temporalio.service

from . import _models
from ._app_loader import jitter_delta
from ._flow_entities import CRON_TICK_WORKFLOW, CRON_TICK_WORKFLOW_ID_PREFIX
from ._flow_routing import FlowControl
from ._registry import SYSTEM_TASK_QUEUE

logger = logging.getLogger(__name__)


def schedule_id(fn_id: str, index: int) -> str:
    return f"{_models.SCHEDULE_ID_PREFIX}{fn_id}:{index}"


def _schedule(fn: _models.FunctionSpec, cron: str, jitter: float | None) -> temporalio.client.Schedule:
    event = {"name": "inngest/scheduled.timer", "data": {"cron": cron}, "id": "", "ts": 0}
    action: temporalio.client.ScheduleActionStartWorkflow
    if FlowControl.applies(fn):
        # Start-time flow control (rate limit, singleton, ...) applies to cron runs too: each
        # occurrence goes through the routing core.
        action = temporalio.client.ScheduleActionStartWorkflow(
            CRON_TICK_WORKFLOW,
            {
                "fn": {
                    "id": fn.id, "app_id": fn.app_id, "name": fn.name, "task_queue": fn.task_queue,
                    "flow_control": fn.flow_control,
                },
                "cron": cron,
            },
            id=f"{CRON_TICK_WORKFLOW_ID_PREFIX}{fn.id}",
            task_queue=SYSTEM_TASK_QUEUE,
            static_summary=f"{fn.name} <- cron {cron} (through flow control)",
        )
    else:
        action = temporalio.client.ScheduleActionStartWorkflow(
            fn.id,
            _models.RunInput(fn_id=fn.id, event=event, events=[]),
            id=f"{fn.id}:cron",
            task_queue=fn.task_queue,
            typed_search_attributes=_models.run_search_attributes(
                fn.id, fn.app_id, "inngest/scheduled.timer", ""
            ),
            static_summary=f"{fn.name} <- cron {cron}",
        )
    return temporalio.client.Schedule(
        action=action,
        spec=temporalio.client.ScheduleSpec(cron_expressions=[cron], jitter=jitter_delta(jitter)),
        policy=temporalio.client.SchedulePolicy(overlap=temporalio.client.ScheduleOverlapPolicy.ALLOW_ALL),
    )


async def reconcile_schedules(client: temporalio.client.Client, app: _models.AppSpec) -> list[str]:
    """Create or update a schedule per cron trigger; delete this app's schedules no longer wanted."""
    wanted: dict[str, temporalio.client.Schedule] = {}
    for fn in app.functions:
        for i, t in enumerate(x for x in fn.triggers if x.cron):
            assert t.cron is not None
            wanted[schedule_id(fn.id, i)] = _schedule(fn, t.cron, t.jitter_seconds)

    existing: set[str] = set()
    async for s in await client.list_schedules():
        if s.id.startswith(_models.SCHEDULE_ID_PREFIX):
            memo = await s.memo()
            if memo.get("app_id") == app.app_id:
                existing.add(s.id)

    for sid, schedule in wanted.items():
        if sid in existing:
            await client.get_schedule_handle(sid).update(
                lambda _inp, schedule=schedule: temporalio.client.ScheduleUpdate(schedule=schedule)
            )
        else:
            try:
                await client.create_schedule(sid, schedule, memo={"app_id": app.app_id})
            except temporalio.client.ScheduleAlreadyRunningError:
                await client.get_schedule_handle(sid).update(
                    lambda _inp, schedule=schedule: temporalio.client.ScheduleUpdate(schedule=schedule)
                )
    for sid in existing - wanted.keys():
        await client.get_schedule_handle(sid).delete()
        logger.info("cron schedule removed", extra={"schedule_id": sid})
    if wanted:
        logger.info("cron schedules reconciled", extra={"app_id": app.app_id, "schedules": sorted(wanted)})
    return sorted(wanted)
