"""Flow control applied when an event would start a run, in Inngest's order (reference 1.5):
batch_events -> rate_limit (idempotency) -> debounce -> singleton -> event-id dedup.

Every decision is taken by an entity workflow in Temporal (see _flow_entities.py), asked
synchronously with update-with-start, so it holds across gateway and worker processes.

A run that flow control skips still leaves a trace a user can find: a *skip record*, a workflow
execution with the run id `<fn>:skipped:<event ULID>`, the function's workflow type and the run's
search attributes (so `GET /v1/events/{id}/runs` lists it), memo `inngest_skipped` = {reason,
message, run_id (the run it went into, if any)} and a summary naming the reason. It sits on a task
queue no worker polls (`inngest:skipped`), so no code ever runs for it, and it is terminated at once
with the reason (the Temporal UI shows it as Terminated, with the reason in its history); an
execution timeout closes it anyway should the terminate call be lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.service
from temporalio import activity

from . import _expressions, _models, _payloads
from ._flow_entities import (
    BATCH_WORKFLOW,
    BATCH_WORKFLOW_ID_PREFIX,
    CRON_TICK,
    DEBOUNCE_WORKFLOW,
    DEBOUNCE_WORKFLOW_ID_PREFIX,
    RATE_LIMIT_WORKFLOW,
    RATE_LIMIT_WORKFLOW_ID_PREFIX,
    RUN_OPEN,
    SINGLETON_WORKFLOW,
    SINGLETON_WORKFLOW_ID_PREFIX,
    START_DEBOUNCED,
    BatchState,
    DebounceState,
    RateLimitState,
    SingletonState,
)
from ._registry import SYSTEM_TASK_QUEUE

logger = logging.getLogger(__name__)

SKIPPED_TASK_QUEUE: Final = "inngest:skipped"  # never polled: skip records run no code
SKIP_MEMO: Final = "inngest_skipped"
CONTINUE_AS_NEW_ENV: Final = "INNGEST_TEMPORAL_FLOW_CONTINUE_AS_NEW_AFTER"
BATCH_MAX_BYTES: Final = 10 * 1024 * 1024
BATCH_MAX_BYTES_WITHOUT_STORE: Final = 1536 * 1024
_SKIP_RECORD_TIMEOUT = timedelta(minutes=1)
_RETRIES = 5

# EventRouter's plain start: (fn, event, internal id, run id); a duplicate run id is a no-op.
PlainStart = Callable[[_models.FunctionSpec, dict[str, Any], str, str], Awaitable[None]]

# EventRouter's start with flow control: (fn, event, user event id or "", internal id).
RoutedStart = Callable[[_models.FunctionSpec, dict[str, Any], str, str], Awaitable[None]]
CRON_EVENT: Final = "inngest/scheduled.timer"

# Options enforced here (the rest act inside the run workflow).
START_OPTIONS: Final = ("batch_events", "rate_limit", "debounce", "singleton")


class _NotLimited:
    """A key expression evaluated to false: the option does not apply to this event."""


NOT_LIMITED: Final = _NotLimited()


def evaluate_key(expression: str | None, event: dict[str, Any]) -> str | _NotLimited:
    """The key string of an event for a `key` expression (None: one key for the function).

    The value is rendered as JSON, so a missing field (null) gives one shared key "null", as in
    Inngest. Boolean false means "not limited". Raises ExpressionError when evaluation fails.
    """
    if expression is None or not expression.strip():
        return ""
    value = _expressions.compile_expression(expression, variables=("event",)).evaluate({"event": event})
    if value is False:
        return NOT_LIMITED
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entity_id(prefix: str, fn_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{fn_id}\x00{key}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    short_fn = fn_id if len(fn_id) <= 400 else f"{fn_id[:100]}~{digest[:8]}"
    return f"{prefix}{short_fn}:{digest}"


def _start_info(fn: _models.FunctionSpec) -> dict[str, Any]:
    return {"fn_id": fn.id, "app_id": fn.app_id, "name": fn.name, "task_queue": fn.task_queue}


class FlowControl:
    """The start-time flow control of the routing core."""

    def __init__(self, client: temporalio.client.Client) -> None:
        self._client = client
        # Entities continue as new after this many updates (default 1000; tests set it low).
        self._continue_as_new_after = int(os.environ.get(CONTINUE_AS_NEW_ENV) or 0) or None
        # Inngest caps a batch at 10 MiB. Without a payload store Temporal takes at most 2 MiB per
        # payload, and the batch's events travel as one: cap below that.
        store = os.environ.get(_payloads.STORE_ENV, "").strip()
        self._batch_max_bytes = BATCH_MAX_BYTES if store else BATCH_MAX_BYTES_WITHOUT_STORE

    @staticmethod
    def applies(fn: _models.FunctionSpec) -> bool:
        return any(option in fn.flow_control for option in START_OPTIONS)

    async def start(
        self,
        fn: _models.FunctionSpec,
        event: dict[str, Any],
        internal_id: str,
        run_id: str,
        plain_start: Any,
        *,
        has_event_id: bool = False,
    ) -> None:
        """Apply the options in order; `plain_start()` starts the run when nothing holds it back.

        `has_event_id`: the event carries its own id, so `run_id` is the same for a re-sent copy.
        """
        config = fn.flow_control
        batch = config.get("batch_events")
        if batch is not None and self._batched(fn, batch, event):
            await self._batch(fn, batch, event, internal_id)
            return
        rate_limit = config.get("rate_limit")
        token = run_id if has_event_id else None
        if rate_limit is not None and not await self._rate_limit(fn, config, event, internal_id, token):
            return
        debounce = config.get("debounce")
        if debounce is not None:
            await self._debounce(fn, debounce, event, internal_id)
            return
        singleton = config.get("singleton")
        if singleton is not None:
            key = self._singleton_key(fn, singleton, event)
            if key is not None:
                await self._singleton(fn, singleton, key, event, internal_id, run_id)
                return
        await plain_start()

    # -- batch ------------------------------------------------------------------------------
    @staticmethod
    def _batched(fn: _models.FunctionSpec, batch: dict[str, Any], event: dict[str, Any]) -> bool:
        condition = batch.get("if_exp")
        if not condition:
            return True
        try:
            return _expressions.compile_expression(condition, variables=("event",)).matches({"event": event})
        except _expressions.ExpressionError as err:
            # Inngest: an event whose batch `if` errors runs on its own, at once.
            logger.warning(
                "batch_events if_exp failed: the event runs unbatched",
                extra={"fn_id": fn.id, "error": str(err)},
            )
            return False

    async def _batch(
        self, fn: _models.FunctionSpec, batch: dict[str, Any], event: dict[str, Any], internal_id: str
    ) -> None:
        try:
            key = evaluate_key(batch.get("key"), event)
        except _expressions.ExpressionError as err:
            logger.warning("batch_events key failed: shared key", extra={"fn_id": fn.id, "error": str(err)})
            key = "<invalid>"
        if key is NOT_LIMITED:
            key = "false"
        assert isinstance(key, str)
        answer = await self._update(
            BATCH_WORKFLOW,
            entity_id(BATCH_WORKFLOW_ID_PREFIX, fn.id, key),
            BatchState(),
            "add",
            {
                "event": event,
                "internal_id": internal_id,
                "run_id": f"{fn.id}:batch:{internal_id}",
                "max_size": batch["max_size"],
                "timeout_s": batch["timeout_s"],
                "start": _start_info(fn),
                "size": len(json.dumps(event, separators=(",", ":"), default=str)),
                "max_bytes": self._batch_max_bytes,
            },
            summary=f"batch of {fn.id}",
        )
        if answer["position"] > 0:
            await self.record_skip(
                fn, event, internal_id, "batched",
                f"batched into run {answer['run_id']} (event {answer['position'] + 1} of its batch)",
                into=answer["run_id"],
            )

    # -- rate limit / idempotency -------------------------------------------------------------
    async def _rate_limit(
        self,
        fn: _models.FunctionSpec,
        config: dict[str, Any],
        event: dict[str, Any],
        internal_id: str,
        token: str | None,
    ) -> bool:
        rate_limit = config["rate_limit"]
        idempotent = config.get("idempotency") is not None
        option = "idempotency" if idempotent else "rate_limit"
        try:
            key = evaluate_key(rate_limit.get("key"), event)
        except _expressions.ExpressionError as err:
            # Inngest: the schedule fails, so no run starts.
            await self.record_skip(
                fn, event, internal_id, f"{option}_key_error",
                f"{option} key could not be evaluated, so no run started: {err}",
            )
            return False
        if key is NOT_LIMITED:
            return True
        assert isinstance(key, str)
        answer = await self._update(
            RATE_LIMIT_WORKFLOW,
            entity_id(RATE_LIMIT_WORKFLOW_ID_PREFIX, fn.id, key),
            RateLimitState(),
            "acquire",
            {
                "limit": rate_limit["limit"],
                "period_s": rate_limit["period_s"],
                "token": token,
                "internal_id": internal_id,
            },
            summary=f"{option} of {fn.id}",
        )
        if answer["admitted"]:
            return True
        if idempotent:
            await self.record_skip(
                fn, event, internal_id, "idempotent",
                f"idempotency key {key} already started a run within 24 h",
            )
        else:
            await self.record_skip(
                fn, event, internal_id, "rate_limited",
                f"rate limited: at most {rate_limit['limit']} runs per {rate_limit['period_s']:g}s"
                f"{'' if not key else f' for key {key}'} (next slot in "
                f"{answer['retry_after_ms'] / 1000:.1f}s)",
            )
        return False

    # -- debounce -----------------------------------------------------------------------------
    async def _debounce(
        self, fn: _models.FunctionSpec, debounce: dict[str, Any], event: dict[str, Any], internal_id: str
    ) -> None:
        try:
            key = evaluate_key(debounce.get("key"), event)
        except _expressions.ExpressionError as err:
            logger.warning("debounce key failed: shared key", extra={"fn_id": fn.id, "error": str(err)})
            key = "<invalid>"  # Inngest's shared key for evaluation errors
        if key is NOT_LIMITED:
            key = "false"
        assert isinstance(key, str)
        start = _start_info(fn)
        if fn.flow_control.get("singleton") is not None:
            start["singleton"] = fn.flow_control["singleton"]  # applied when the run starts
        answer = await self._update(
            DEBOUNCE_WORKFLOW,
            entity_id(DEBOUNCE_WORKFLOW_ID_PREFIX, fn.id, key),
            DebounceState(),
            "push",
            {
                "event": event,
                "internal_id": internal_id,
                "run_id": f"{fn.id}:debounce:{internal_id}",
                "period_s": debounce["period_s"],
                "timeout_s": debounce.get("timeout_s"),
                "start": start,
            },
            summary=f"debounce of {fn.id}",
        )
        into = answer["run_id"]
        if answer["outcome"] == "ignored":
            await self.record_skip(
                fn, event, internal_id, "debounced",
                f"debounced into run {into}; ignored: its ts is older than the pending event's",
                into=into,
            )
        elif answer["outcome"] == "replaced":
            replaced = answer["replaced"]
            await self.record_skip(
                fn, replaced["event"], replaced["internal_id"], "debounced",
                f"debounced into run {into}: a newer event replaced it",
                into=into,
            )

    # -- singleton ----------------------------------------------------------------------------
    @staticmethod
    def _singleton_key(fn: _models.FunctionSpec, singleton: dict[str, Any], event: dict[str, Any]) -> str | None:
        try:
            key = evaluate_key(singleton.get("key"), event)
        except _expressions.ExpressionError as err:
            # Inngest: the run proceeds as if there were no singleton.
            logger.warning(
                "singleton key failed: the run starts without singleton",
                extra={"fn_id": fn.id, "error": str(err)},
            )
            return None
        return None if key is NOT_LIMITED else key  # type: ignore[return-value]

    async def _singleton(
        self,
        fn: _models.FunctionSpec,
        singleton: dict[str, Any],
        key: str,
        event: dict[str, Any],
        internal_id: str,
        run_id: str,
    ) -> None:
        answer = await self._update(
            SINGLETON_WORKFLOW,
            entity_id(SINGLETON_WORKFLOW_ID_PREFIX, fn.id, key),
            SingletonState(),
            "claim",
            {
                "mode": singleton["mode"],
                "run_id": run_id,
                "event": event,
                "internal_id": internal_id,
                "start": _start_info(fn),
            },
            summary=f"singleton of {fn.id}",
        )
        if answer["outcome"] == "skipped":
            await self.record_skip(
                fn, event, internal_id, "singleton_skipped",
                f"singleton (mode skip): run {answer['active']} is still active",
                into=answer["active"],
            )
        elif answer["outcome"] == "duplicate":
            logger.info("duplicate event id: no new run", extra={"fn_id": fn.id, "run_id": run_id})
        elif answer["active"]:
            logger.info(
                "singleton cancelled the active run",
                extra={"fn_id": fn.id, "cancelled": answer["active"], "run_id": run_id},
            )

    # -- Temporal -----------------------------------------------------------------------------
    async def _update(
        self, workflow_type: str, workflow_id: str, initial: Any, update: str, arg: dict[str, Any], *, summary: str
    ) -> dict[str, Any]:
        """Update-with-start the entity; retried when it was closing just as the update arrived."""
        if self._continue_as_new_after:
            arg = {**arg, "continue_as_new_after": self._continue_as_new_after}
        # One update id per decision: when an answer is lost (busy entity, closing run) the retry
        # gets the first answer instead of being counted again (a rate limit would drop runs).
        key = arg.get("internal_id") or arg.get("run_id")
        update_id = f"{update}:{key}" if key else None
        for attempt in range(_RETRIES):
            op = temporalio.client.WithStartWorkflowOperation(
                workflow_type,
                initial,
                id=workflow_id,
                task_queue=SYSTEM_TASK_QUEUE,
                id_conflict_policy=temporalio.common.WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=summary,
            )
            try:
                answer: dict[str, Any] = await self._client.execute_update_with_start_workflow(
                    update, arg, start_workflow_operation=op, id=update_id, result_type=dict
                )
                return answer
            except (temporalio.service.RPCError, temporalio.client.WorkflowUpdateFailedError) as err:
                if attempt == _RETRIES - 1 or not _closing(err):
                    raise
                logger.info(
                    "flow-control entity was closing; retrying",
                    extra={"workflow_id": workflow_id, "error": str(err)},
                )
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def record_skip(
        self,
        fn: _models.FunctionSpec,
        event: dict[str, Any],
        internal_id: str,
        reason: str,
        message: str,
        *,
        into: str | None = None,
    ) -> str:
        """Leave the visible trace of a run that flow control did not start (see module doc)."""
        record_id = f"{fn.id}:skipped:{internal_id}"
        logger.info(
            "run skipped by flow control",
            extra={"fn_id": fn.id, "event_id": internal_id, "reason": reason, "skip_message": message},
        )
        try:
            handle = await self._client.start_workflow(
                fn.id,
                _models.RunInput(fn_id=fn.id, event=event, events=[]),
                id=record_id,
                task_queue=SKIPPED_TASK_QUEUE,
                id_conflict_policy=temporalio.common.WorkflowIDConflictPolicy.USE_EXISTING,
                # Closed already (a re-sent request): the record stands, not a second execution.
                id_reuse_policy=temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
                execution_timeout=_SKIP_RECORD_TIMEOUT,
                search_attributes=_models.run_search_attributes(fn.id, fn.app_id, event["name"], internal_id),
                memo={SKIP_MEMO: {"reason": reason, "message": message, "run_id": into}},
                static_summary=f"skipped ({reason}): {fn.name} <- {event['name']}",
                static_details=message,
            )
        except temporalio.exceptions.WorkflowAlreadyStartedError:
            return record_id  # recorded already (closed)
        try:
            await handle.terminate(reason=f"skipped by flow control: {message}")
        except temporalio.service.RPCError as err:
            if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                logger.warning(
                    "skip record not terminated; its timeout closes it",
                    extra={"run_id": record_id, "error": str(err)},
                )
        return record_id


class FlowActivities:
    """Activities of the system task queue for the start-time entities."""

    def __init__(
        self, client: temporalio.client.Client, plain_start: PlainStart, routed_start: RoutedStart
    ) -> None:
        self._client = client
        self._flow = FlowControl(client)
        self._plain_start = plain_start
        self._routed_start = routed_start

    def activities(self) -> list[Any]:
        return [self.start_debounced, self.run_open, self.cron_tick]

    @activity.defn(name=CRON_TICK)
    async def cron_tick(self, tick: dict[str, Any]) -> None:
        """A cron occurrence of a function with start-time flow control: route it like an event."""
        spec = tick["fn"]
        fn = _models.FunctionSpec(
            id=spec["id"], app_id=spec["app_id"], name=spec["name"], task_queue=spec["task_queue"],
            triggers=[], flow_control=dict(spec.get("flow_control") or {}),
        )
        event = {
            "name": CRON_EVENT,
            "data": {"cron": tick["cron"]},
            "id": tick["internal_id"],
            "ts": int(tick["ts"]),
        }
        await self._routed_start(fn, event, "", tick["internal_id"])

    @activity.defn(name=START_DEBOUNCED)
    async def start_debounced(self, request: dict[str, Any]) -> None:
        """A debounced run of a function that also has a singleton: claim it, as routing would."""
        start = request["start"]
        fn = _models.FunctionSpec(
            id=start["fn_id"], app_id=start["app_id"], name=start["name"],
            task_queue=start["task_queue"], triggers=[],
            flow_control={"singleton": start["singleton"]},
        )
        event, internal_id, run_id = request["event"], request["internal_id"], request["run_id"]
        key = FlowControl._singleton_key(fn, start["singleton"], event)
        if key is None:
            await self._plain_start(fn, event, internal_id, run_id)
            return
        await self._flow._singleton(fn, start["singleton"], key, event, internal_id, run_id)

    @activity.defn(name=RUN_OPEN)
    async def run_open(self, run_id: str) -> bool:
        try:
            desc = await self._client.get_workflow_handle(run_id).describe()
        except temporalio.service.RPCError as err:
            if err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
                return False
            raise
        return desc.status == temporalio.client.WorkflowExecutionStatus.RUNNING


def _closing(err: BaseException) -> bool:
    text = str(err).lower()
    if isinstance(err, temporalio.service.RPCError) and err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
        return True
    # "unexpected workflow task failure": the update met the entity's continue-as-new task; the
    # update was not applied, and the retry reaches the next run.
    return (
        "completed" in text
        or "closing" in text
        or "not found" in text
        or "unexpected workflow task failure" in text
    )
