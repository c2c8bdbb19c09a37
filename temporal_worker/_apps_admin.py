"""List and remove synced apps (`inngest-temporal apps list|remove`).

An app stays registered after its worker stops, so events keep starting its runs, which wait for a
worker. Removing an app stops routing to its functions and deletes its cron schedules; runs already
started are left alone (cancel them with DELETE /v1/runs/{id} or the Temporal UI).
"""

from __future__ import annotations

import logging

import temporalio.client
import temporalio.service

from . import _models
from ._registry import Registry

logger = logging.getLogger(__name__)


async def list_apps(client: temporalio.client.Client) -> list[_models.AppSpec]:
    return sorted(await Registry(client, ttl=0).apps(refresh=True), key=lambda a: a.app_id)


async def remove_app(client: temporalio.client.Client, app_id: str) -> list[str]:
    """Unregister `app_id`; returns what was removed. Raises LookupError for an unknown app."""
    handle = client.get_workflow_handle(f"{_models.APP_WORKFLOW_ID_PREFIX}{app_id}")
    try:
        await handle.terminate(reason=f"app {app_id} removed with `inngest-temporal apps remove`")
    except temporalio.service.RPCError as err:
        if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
            raise
        raise LookupError(f"no synced app {app_id!r} (see `inngest-temporal apps list`)") from None
    removed = [f"app {app_id}"]
    async for schedule in await client.list_schedules():
        if schedule.id.startswith(_models.SCHEDULE_ID_PREFIX) and (await schedule.memo()).get("app_id") == app_id:
            await client.get_schedule_handle(schedule.id).delete()
            removed.append(f"schedule {schedule.id}")
    logger.info("app removed", extra={"app_id": app_id, "removed": removed})
    return removed
