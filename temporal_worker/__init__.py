"""Everything that touches Temporal: run workflow, step activities, routing core, registry, worker."""

from temporal_worker._logging import configure_logging
from temporal_worker._matching import MAX_EVENT_NAME_LENGTH, sent_event_name_problem
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
from temporal_worker._models import BRIDGE_TASK_QUEUE
from temporal_worker._flow_routing import SKIP_MEMO
from temporal_worker._registry import REGISTRY_TTL, Registry, app_to_dict, sync_app
from temporal_worker._routing import EventRouter, RoutingError
from temporal_worker._run_state import fetch_memo
from temporal_worker._schedules import reconcile_schedules
from temporal_worker._sdk_protocol import (
    RegistrationError,
    app_from_registration,
    canonical_json,
    verify_signature,
)
from temporal_worker._sdk_protocol import sign as sign_body
from temporal_worker._settings import WorkerSettings
from temporal_worker._worker import connect, run_worker

__all__ = [
    # routing core (used by the gateway)
    "EventRouter",
    "RoutingError",
    "Registry",
    "REGISTRY_TTL",
    "sent_event_name_problem",
    "MAX_EVENT_NAME_LENGTH",
    # worker
    "run_worker",
    "connect",
    "WorkerSettings",
    "sync_app",
    "configure_logging",
    # stock SDK apps (the bridge)
    "BRIDGE_TASK_QUEUE",
    "RegistrationError",
    "app_from_registration",
    "app_to_dict",
    "canonical_json",
    "reconcile_schedules",
    "fetch_memo",
    "sign_body",
    "verify_signature",
    # data
    "AppSpec",
    "FunctionSpec",
    "RunInput",
    "TriggerSpec",
    "SA_APP_ID",
    "SA_EVENT_ID",
    "SA_EVENT_NAME",
    "SA_FUNCTION_ID",
    "SKIP_MEMO",
]
