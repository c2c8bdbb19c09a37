"""Everything that touches Temporal: run workflow, step activities, routing core, registry, worker."""

from temporal_worker._logging import configure_logging
from temporal_worker._models import (
    SA_APP_ID,
    SA_EVENT_ID,
    SA_EVENT_NAME,
    SA_FUNCTION_ID,
    AppSpec,
    FunctionSpec,
    RunInput,
    TriggerSpec,
)
from temporal_worker._registry import Registry, sync_app
from temporal_worker._routing import EventRouter
from temporal_worker._settings import WorkerSettings
from temporal_worker._worker import connect, run_worker

__all__ = [
    # routing core (used by the gateway)
    "EventRouter",
    "Registry",
    # worker
    "run_worker",
    "connect",
    "WorkerSettings",
    "sync_app",
    "configure_logging",
    # data
    "AppSpec",
    "FunctionSpec",
    "RunInput",
    "TriggerSpec",
    "SA_APP_ID",
    "SA_EVENT_ID",
    "SA_EVENT_NAME",
    "SA_FUNCTION_ID",
]
