"""The function registry: app specs synced into Temporal, read back (cached) by gateways and workers.

Each app lives in a running `InngestApp` workflow (id `inngest-app:<app_id>`) whose memo "app" holds
its AppSpec. Reads go through visibility (`list_workflows`), so they need no worker; writes go
through an update so the memo is current when `sync_app` returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any, Final

import temporalio.client
import temporalio.common

from . import _models

logger = logging.getLogger(__name__)

SYSTEM_TASK_QUEUE = "inngest:system"


def app_to_dict(app: _models.AppSpec) -> dict[str, Any]:
    return dataclasses.asdict(app)


def app_from_dict(raw: dict[str, Any]) -> _models.AppSpec:
    functions = [
        _models.FunctionSpec(
            id=f["id"],
            app_id=f["app_id"],
            name=f["name"],
            task_queue=f["task_queue"],
            triggers=[_models.TriggerSpec(**t) for t in f.get("triggers", [])],
            flow_control=dict(f.get("flow_control") or {}),
            kind=f.get("kind") or "compat",
            url=f.get("url"),
            retries=f.get("retries"),
            unsupported=f.get("unsupported"),
        )
        for f in raw.get("functions", [])
    ]
    return _models.AppSpec(
        app_id=raw["app_id"],
        task_queue=raw["task_queue"],
        functions=functions,
        kind=raw.get("kind") or "compat",
        url=raw.get("url"),
        sdk=raw.get("sdk"),
        framework=raw.get("framework"),
    )


# Seconds a process's view of the synced apps may be stale (workers, bridge; gateways by default,
# GATEWAY_REGISTRY_TTL_SECONDS): a worker logs "ready" once that long has passed after its sync.
REGISTRY_TTL: Final = 1.0


class Registry:
    """Cached view of every synced app. `ttl` bounds how stale a gateway's routing can be.

    Once used, a background task refreshes the view every `ttl` seconds, so a request never waits
    for a visibility query unless the view is missing or older than twice the ttl.
    """

    def __init__(self, client: temporalio.client.Client, *, ttl: float = REGISTRY_TTL) -> None:
        self._client = client
        self._ttl = ttl
        self._apps: dict[str, _models.AppSpec] = {}
        self._loaded_at = -1.0e9
        self._lock = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        apps: dict[str, _models.AppSpec] = {}
        query = f"WorkflowType = '{_models.APP_WORKFLOW}' AND ExecutionStatus = 'Running'"
        async for wf in self._client.list_workflows(query):
            memo = await wf.memo()
            raw = memo.get("app")
            if isinstance(raw, dict):
                app = app_from_dict(raw)
                apps[app.app_id] = app
        self._apps = apps
        self._loaded_at = time.monotonic()

    async def _refresh_once(self, loaded_at: float) -> None:
        async with self._lock:
            if self._loaded_at == loaded_at:  # nobody refreshed while we waited
                await self._refresh()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl)
            try:
                await self._refresh_once(self._loaded_at)
            except Exception as err:  # Temporal unreachable for a moment: requests refresh inline
                logger.warning("registry refresh failed", extra={"error": str(err)})

    async def apps(self, *, refresh: bool = False) -> list[_models.AppSpec]:
        if self._ttl > 0 and (self._refresher is None or self._refresher.done()):
            self._refresher = asyncio.create_task(self._refresh_forever())
        if refresh or time.monotonic() - self._loaded_at > 2 * self._ttl:
            await self._refresh_once(self._loaded_at)
        return list(self._apps.values())

    def close(self) -> None:
        """Stop the background refresh."""
        if self._refresher is not None:
            self._refresher.cancel()

    async def functions(self, *, refresh: bool = False) -> list[_models.FunctionSpec]:
        return [fn for app in await self.apps(refresh=refresh) for fn in app.functions]

    async def function(self, fn_id: str) -> _models.FunctionSpec | None:
        """One function by composite id; refreshes once on a miss."""
        for refresh in (False, True):
            for fn in await self.functions(refresh=refresh):
                if fn.id == fn_id:
                    return fn
        return None


async def sync_app(client: temporalio.client.Client, app: _models.AppSpec) -> None:
    """Write the app's function set into Temporal (replacing the previous set)."""
    raw = app_to_dict(app)
    op = temporalio.client.WithStartWorkflowOperation(
        _models.APP_WORKFLOW,
        raw,
        id=f"{_models.APP_WORKFLOW_ID_PREFIX}{app.app_id}",
        task_queue=SYSTEM_TASK_QUEUE,
        id_conflict_policy=temporalio.common.WorkflowIDConflictPolicy.USE_EXISTING,
        memo={"app": raw},
        static_summary=f"app {app.app_id}: {len(app.functions)} functions",
    )
    await client.execute_update_with_start_workflow("set_app", raw, start_workflow_operation=op)
    logger.info(
        "app synced",
        extra={"app_id": app.app_id, "functions": [f.id for f in app.functions]},
    )
