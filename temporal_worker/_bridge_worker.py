"""The bridge worker: runs the functions of stock Inngest SDK apps (synced over HTTP) on Temporal.

It needs no user code: the run workflow and the step activities are the same as for native
functions, with an `HttpExecutor` that calls each app's endpoint. It serves the shared bridge task
queue (`inngest:bridge`) and, like every worker, the system queue (app registry, pause routers),
so a gateway plus this worker is enough for SDK apps.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

import temporalio.client
import temporalio.worker

from . import _models, _search_attributes
from ._activities import StepActivities
from ._http_executor import HttpExecutor
from ._registry import Registry
from ._routing import EventRouter
from ._settings import WorkerSettings
from ._worker import connect, system_worker, workflow_runner
from ._workflow import RunWorkflow

logger = logging.getLogger(__name__)


async def run_bridge(
    *,
    stop: asyncio.Event | None = None,
    client: temporalio.client.Client | None = None,
    settings: WorkerSettings | None = None,
    executor: HttpExecutor | None = None,
) -> None:
    """Serve the bridge task queue until `stop` is set."""
    settings = settings or WorkerSettings.from_env()
    client = client or await connect()
    await _search_attributes.ensure_search_attributes(client, settings.namespace)
    registry = Registry(client)
    router = EventRouter(client, registry)
    executor = executor or HttpExecutor.from_env(registry)
    activities = StepActivities(
        executor, client=client, registry=registry, router=router, settings=settings
    )
    workers = [
        temporalio.worker.Worker(
            client,
            task_queue=_models.BRIDGE_TASK_QUEUE,
            workflows=[RunWorkflow],
            activities=activities.activities(),
            workflow_runner=workflow_runner(),
            graceful_shutdown_timeout=datetime.timedelta(seconds=settings.shutdown_grace),
        ),
        system_worker(client, router),
    ]
    stop = stop or asyncio.Event()
    try:
        async with contextlib.AsyncExitStack() as running:
            for w in workers:
                await running.enter_async_context(w)
            logger.info(
                "bridge worker ready",
                extra={"task_queue": _models.BRIDGE_TASK_QUEUE, "inline_step_apps": executor.inline_apps},
            )
            await stop.wait()
            logger.info("bridge worker stopping")
    finally:
        await executor.aclose()
