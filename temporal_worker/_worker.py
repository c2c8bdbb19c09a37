"""The worker process: serves one app's functions (and the system workflows) on Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import time
from typing import Any

import temporalio.client
import temporalio.envconfig
import temporalio.service
import temporalio.worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from . import _app_loader, _payloads, _registry, _schedules, _search_attributes
from ._activities import StepActivities, SystemActivities
from ._executors import CompatExecutor
from ._flow_entities import FLOW_WORKFLOWS
from ._flow_routing import FlowActivities
from ._limits import SemaphoreWorkflow, ThrottleWorkflow
from ._models import BRIDGE_TASK_QUEUE
from ._registry import REGISTRY_TTL, SYSTEM_TASK_QUEUE, Registry
from ._routing import EventRouter
from ._settings import WorkerSettings
from ._system_workflows import AppWorkflow, PausesWorkflow
from ._workflow import RunWorkflow

logger = logging.getLogger(__name__)


# Resources the payload store holds open (an S3 client) for the life of the process.
_RESOURCES = contextlib.AsyncExitStack()


async def connect(
    *,
    target_host: str | None = None,
    namespace: str | None = None,
    timeout: float = 60.0,
) -> temporalio.client.Client:
    """Connect to Temporal, retrying with backoff for up to `timeout` seconds.

    Address and namespace: the arguments, else TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / a Temporal
    config profile, else 127.0.0.1:7233. The data converter uses the payload store configured by
    INNGEST_TEMPORAL_PAYLOAD_STORE (see _payloads.py): workers and gateways must agree on it.
    """
    config: dict[str, Any] = dict(temporalio.envconfig.ClientConfig.load_client_connect_config())
    config.setdefault("target_host", os.environ.get("TEMPORAL_ADDRESS") or "127.0.0.1:7233")
    if target_host:
        config["target_host"] = target_host
    if namespace:
        config["namespace"] = namespace
    # App specs ride in a memo (a few KiB): the SDK's default 2 KiB warning would fire every sync.
    config["payload_limits"] = temporalio.service.PayloadLimitsConfig(memo_warn_size=256 * 1024)
    config["data_converter"] = await _payloads.data_converter(
        _payloads.PayloadStoreConfig.from_env(), _RESOURCES
    )
    deadline = time.monotonic() + timeout
    delay, attempt = 0.25, 0
    while True:
        attempt += 1
        try:
            client = await asyncio.wait_for(
                temporalio.client.Client.connect(**config),
                timeout=max(deadline - time.monotonic(), 0.1),
            )
        except Exception as err:  # connection errors come as RuntimeError, TimeoutError, ...
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"cannot connect to Temporal at {config['target_host']} "
                    f"(namespace {config.get('namespace', 'default')!r}) within {timeout:g} s after "
                    f"{attempt} attempts: {err or type(err).__name__}. Set TEMPORAL_ADDRESS, or start "
                    "a dev server with `inngest-temporal dev`"
                ) from err
            logger.warning(
                "Temporal not reachable yet, retrying",
                extra={"address": config["target_host"], "attempt": attempt, "error": str(err)},
            )
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 4.0)
            continue
        logger.info(
            "connected to Temporal",
            extra={"address": config["target_host"], "namespace": client.namespace, "attempt": attempt},
        )
        return client


SANDBOX_ENV = "INNGEST_TEMPORAL_WORKFLOW_SANDBOX"


def workflow_runner() -> temporalio.worker.WorkflowRunner:
    """How our workflows run: outside Temporal's sandbox, unless INNGEST_TEMPORAL_WORKFLOW_SANDBOX=1.

    Users' code never runs in a workflow here (it runs in activities), so the sandbox guards only
    our own workflow code, and it costs: each payload a workflow task converts enters it once
    (replaying a 100-step run: 1.68 ms of CPU per step inside it, 1.33 ms outside). Replay tests
    replay real histories under the sandbox (`sandboxed_runner`), which refuses clocks, randomness
    and I/O, so a non-deterministic change still fails there.
    """
    if os.environ.get(SANDBOX_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return sandboxed_runner()
    return temporalio.worker.UnsandboxedWorkflowRunner()


def sandboxed_runner() -> SandboxedWorkflowRunner:
    # Deterministic helpers the workflows use (CEL is a native extension) pass through the sandbox.
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "cel", "temporal_worker", "compat"
        )
    )


def system_worker(client: temporalio.client.Client, router: EventRouter) -> temporalio.worker.Worker:
    """The worker of our own workflows (registry, pause routers, flow-control entities).

    Every worker process runs one: any of them may get these tasks, so all register the same set.
    """
    return temporalio.worker.Worker(
        client,
        task_queue=SYSTEM_TASK_QUEUE,
        workflows=[AppWorkflow, PausesWorkflow, SemaphoreWorkflow, ThrottleWorkflow, *FLOW_WORKFLOWS],
        activities=[
            *SystemActivities(client).activities(),
            *FlowActivities(client, router._plain_start, router._start).activities(),
        ],
        workflow_runner=workflow_runner(),
    )


async def _wait_visible(registry: Registry, app_ids: set[str], deadline: float = 10.0) -> None:
    """Visibility is eventually consistent: return once gateways can see the synced apps."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if app_ids <= {a.app_id for a in await registry.apps(refresh=True)}:
            return
        await asyncio.sleep(0.05)
    logger.warning("synced apps not visible yet", extra={"apps": sorted(app_ids)})


async def run_worker(
    app_ref: str,
    *,
    stop: asyncio.Event | None = None,
    client: temporalio.client.Client | None = None,
    settings: WorkerSettings | None = None,
) -> None:
    """Serve the functions `app_ref` names until `stop` is set."""
    functions = _app_loader.load_functions(app_ref)
    specs = _app_loader.app_specs(functions)
    settings = settings or WorkerSettings.from_env()
    client = client or await connect()
    await _search_attributes.ensure_search_attributes(client, settings.namespace)

    registry = Registry(client)
    synced = {a.app_id: a for a in await Registry(client, ttl=0).apps(refresh=True)}  # one read
    for app in specs:
        bridged = synced.get(app.app_id)
        if bridged is not None and bridged.task_queue == BRIDGE_TASK_QUEUE:
            raise _app_loader.AppLoadError(
                f"app id {app.app_id!r} belongs to an SDK app served over HTTP ({bridged.url}: "
                f"{', '.join(f.id for f in bridged.functions)}); serving these functions would "
                "replace it: give this app its own app id (or `inngest-temporal apps remove "
                f"{app.app_id}` if that SDK app is gone)"
            )
    router = EventRouter(client, registry)
    activities = StepActivities(
        CompatExecutor({fn.id: fn for fn in functions}, router.send),
        client=client,
        registry=registry,
        router=router,
        settings=settings,
    )
    workers = [
        temporalio.worker.Worker(
            client,
            task_queue=app.task_queue,
            workflows=[RunWorkflow],
            activities=activities.activities(),
            workflow_runner=workflow_runner(),
            # A stop lets running steps finish (a retries=0 run failed with WorkerShutdown).
            graceful_shutdown_timeout=datetime.timedelta(seconds=settings.shutdown_grace),
        )
        for app in specs
    ]
    workers.append(system_worker(client, router))
    stop = stop or asyncio.Event()
    async with contextlib.AsyncExitStack() as running:
        for w in workers:
            await running.enter_async_context(w)
        for app in specs:
            await _registry.sync_app(client, app)
            await _schedules.reconcile_schedules(client, app)
        await _wait_visible(registry, {a.app_id for a in specs})
        # Gateways cache the registry for GATEWAY_REGISTRY_TTL_SECONDS (1 s by default): "ready"
        # means an event sent now is routed to these functions (one sent at once was lost).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REGISTRY_TTL)
        logger.info(
            "worker ready",
            extra={
                "apps": [a.app_id for a in specs],
                "task_queues": [a.task_queue for a in specs],
                "functions": [fn.id for fn in functions],
            },
        )
        await stop.wait()
        logger.info("worker stopping")
        registry.close()
