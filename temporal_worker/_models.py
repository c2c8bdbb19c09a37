"""Data shared by the gateway, the routing core, the worker and the workflows.

Everything here is plain data (dataclasses), safe to import inside workflow code.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import temporalio.common

# Search attributes every run carries (registered automatically: dev server flags, worker start).
SA_FUNCTION_ID: Final = temporalio.common.SearchAttributeKey.for_keyword("InngestFunctionId")
SA_APP_ID: Final = temporalio.common.SearchAttributeKey.for_keyword("InngestAppId")
SA_EVENT_NAME: Final = temporalio.common.SearchAttributeKey.for_keyword("InngestEventName")
SA_EVENT_ID: Final = temporalio.common.SearchAttributeKey.for_keyword("InngestEventId")
SEARCH_ATTRIBUTES: Final = (SA_FUNCTION_ID, SA_APP_ID, SA_EVENT_NAME, SA_EVENT_ID)

# Workflow types and ids of our own (not user functions).
APP_WORKFLOW: Final = "InngestApp"  # one per app: holds the app's synced function configs
APP_WORKFLOW_ID_PREFIX: Final = "inngest-app:"
PAUSES_WORKFLOW: Final = "InngestPauses"  # one per event name while runs wait for it
PAUSES_WORKFLOW_ID_PREFIX: Final = "inngest-pauses:"
DELIVER_MANY: Final = "deliver_many"  # the pause router's signal carrying several events in order
WAKE_RUNS: Final = "__wake_runs"  # pause router's local activity: signal the runs an event resumes
SCHEDULE_ID_PREFIX: Final = "inngest-cron:"
CONCURRENCY_WORKFLOW: Final = "InngestConcurrency"  # a semaphore over executing steps, per key
CONCURRENCY_WORKFLOW_ID_PREFIX: Final = "inngest-concurrency:"
THROTTLE_WORKFLOW: Final = "InngestThrottle"  # GCRA admission of run starts, per function and key
THROTTLE_WORKFLOW_ID_PREFIX: Final = "inngest-throttle:"

# Signal names.
SIGNAL_EVENT: Final = "inngest_event"  # pause router -> waiting run: {"step": hashed id, "event": {...}}
SIGNAL_GRANT: Final = "inngest_grant"  # concurrency / throttle entity -> run: {"slot", "at_ms"?}

DEFAULT_TASK_QUEUE_PREFIX: Final = "inngest:"
# Functions of apps served over HTTP by a stock Inngest SDK run on this queue (the bridge worker).
BRIDGE_TASK_QUEUE: Final = "inngest:bridge"


def task_queue_for_app(app_id: str) -> str:
    return f"{DEFAULT_TASK_QUEUE_PREFIX}{app_id}"


@dataclasses.dataclass
class TriggerSpec:
    """One trigger of a function: an event name (optionally with a CEL expression) or a cron."""

    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter_seconds: float | None = None


@dataclasses.dataclass
class FunctionSpec:
    """What the registry knows of a function: enough to route events and start runs.

    `id` is Inngest's composite id `<app_id>-<fn_id>`; it is also the Temporal workflow type.
    """

    id: str
    app_id: str
    name: str
    task_queue: str
    triggers: list[TriggerSpec]
    # compat's flow-control config (JSON, durations in seconds); enforced by routing and runs
    flow_control: dict[str, Any] = dataclasses.field(default_factory=dict)
    # "compat": served in-process by a worker; "http": a stock SDK app called at `url`.
    kind: str = "compat"
    url: str | None = None  # http: the runtime URL as synced (`...?fnId=<id>&stepId=step`)
    retries: int | None = None  # None: the default (4 retries, so 5 attempts)
    # http: why runs of this function are refused (an option the bridge cannot honour yet).
    unsupported: str | None = None


@dataclasses.dataclass
class AppSpec:
    app_id: str
    task_queue: str
    functions: list[FunctionSpec]
    kind: str = "compat"
    url: str | None = None  # http: the app's serve URL
    sdk: str | None = None  # http: what the SDK said it is, e.g. "py:v0.5.19"
    framework: str | None = None


@dataclasses.dataclass
class RunInput:
    """Input of the run workflow (workflow type = function id, workflow id = run id).

    `state` is set only when a run continues as new: what the next run in the chain carries on.
    """

    fn_id: str
    event: dict[str, Any]
    events: list[dict[str, Any]]
    state: dict[str, Any] | None = None


def run_input_of(raw: dict[str, Any]) -> RunInput:
    """A RunInput from its JSON object (the run workflow decodes it so: see there)."""
    return RunInput(
        fn_id=raw["fn_id"], event=raw.get("event") or {}, events=raw.get("events") or [], state=raw.get("state")
    )


@dataclasses.dataclass
class StepInput:
    """Input of a step activity: replay the handler with `memo`, run `target` (None: discover)."""

    fn_id: str
    run_id: str
    event: dict[str, Any]
    events: list[dict[str, Any]]
    memo: dict[str, Any]
    target: str | None
    attempt: int
    max_attempts: int
    # When `memo_digest` is set, `memo` holds only the entries the workflow wrote itself; the rest
    # comes from the worker's memo cache, or from the workflow (query) when the digest disagrees.
    memo_digest: str | None = None
    # First discovery of a run: a throttled function answers with its config only (no replay).
    preflight: bool = False
    # Inline mode (SDK apps, INNGEST_TEMPORAL_SDK_STEPS=inline): a discovery call may run the next
    # step in it, and no targeted call looks ahead (the workflow calls again, as Inngest does).
    inline: bool = False


def run_search_attributes(
    fn_id: str, app_id: str, event_name: str, event_id: str
) -> temporalio.common.TypedSearchAttributes:
    return temporalio.common.TypedSearchAttributes(
        [
            temporalio.common.SearchAttributePair(SA_FUNCTION_ID, fn_id),
            temporalio.common.SearchAttributePair(SA_APP_ID, app_id),
            temporalio.common.SearchAttributePair(SA_EVENT_NAME, event_name),
            temporalio.common.SearchAttributePair(SA_EVENT_ID, event_id),
        ]
    )
