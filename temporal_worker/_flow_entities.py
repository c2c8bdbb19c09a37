"""Entity workflows for the flow control decided when a run is started (deterministic; no I/O).

One entity per (function, evaluated key), on the system task queue, answered synchronously by
update-with-start (USE_EXISTING) from the routing core; each one ends once it holds nothing, so an
idle key costs nothing. State lives only in these workflows, so the limits hold with any number of
gateway and worker processes and across restarts.

InngestRateLimit (id `inngest-ratelimit:<fn>:<key hash>`): GCRA that drops (rate_limit, and
idempotency = 1 per 24 h). Update `acquire` answers admitted or not. Lives until its theoretical
arrival time has passed (then a fresh entity is equivalent).

InngestDebounce (id `inngest-debounce:<fn>:<key hash>`): update `push` adds an event to the open
burst (opening one if none), keeps the event with the highest `ts` and restarts the period; an
event older than the kept one is ignored. When `period` has passed since the last accepted event,
or `timeout` since the burst opened, the run starts as a child (ABANDON) with the kept event; when
the function also has a singleton, the activity `__flow_start_debounced` claims it as routing would.

InngestBatch (id `inngest-batch:<fn>:<key hash>`): update `add` appends the event to the open batch;
the batch's run starts (child, ABANDON) with every event once it holds `max_size` events or
`timeout` after its first event.

InngestSingleton (id `inngest-singleton:<fn>:<key hash>`): update `claim` starts the run as a child
when none is active; otherwise `skip` refuses it and `cancel` cancels the active run first. The
entity watches its active child and ends when none is active. After continue-as-new the active run is
no longer its child: it checks it with the activity `__flow_run_open` every 2 s until it ends.

Every entity continues as new after `continue_as_new_after` updates (sent by the routing core;
1,000 by default) or when Temporal suggests it, carrying its state.

The run ids of debounced and batched runs are decided when the burst/batch opens
(`<fn>:debounce:<first event id>`, `<fn>:batch:<first event id>`) so the routing core can say, for
each absorbed event, which run it went into.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta
from typing import Any, Final

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from . import _models

RATE_LIMIT_WORKFLOW: Final = "InngestRateLimit"
RATE_LIMIT_WORKFLOW_ID_PREFIX: Final = "inngest-ratelimit:"
DEBOUNCE_WORKFLOW: Final = "InngestDebounce"
DEBOUNCE_WORKFLOW_ID_PREFIX: Final = "inngest-debounce:"
BATCH_WORKFLOW: Final = "InngestBatch"
BATCH_WORKFLOW_ID_PREFIX: Final = "inngest-batch:"
SINGLETON_WORKFLOW: Final = "InngestSingleton"
SINGLETON_WORKFLOW_ID_PREFIX: Final = "inngest-singleton:"

# Activities of the system task queue (FlowActivities in _flow_routing.py).
START_DEBOUNCED: Final = "__flow_start_debounced"  # a debounced run of a singleton function
RUN_OPEN: Final = "__flow_run_open"  # is this run still running?
CRON_TICK: Final = "__flow_cron_tick"  # a cron occurrence of a flow-controlled function -> routing
CRON_TICK_WORKFLOW: Final = "InngestCronTick"
CRON_TICK_WORKFLOW_ID_PREFIX: Final = "inngest-cron-tick:"

# Entities stay this long after they hold nothing, so a burst of events finds them running.
_LINGER = timedelta(seconds=30)
_CONTINUE_AS_NEW_AFTER = 1000  # updates handled per run of an entity
_POLL_CARRIED = timedelta(seconds=2)  # how often a continued singleton checks the run it inherited
_ACTIVITY_TIMEOUT = timedelta(seconds=30)
_ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


def gcra_drop(tat_ms: float | None, now_ms: float, limit: int, period_ms: float) -> tuple[bool, float | None]:
    """Inngest's rate-limit GCRA: (admitted, new theoretical arrival time).

    Emission interval T = period/limit; burst = limit // 10 (as Inngest's server), so at an idle
    moment `burst + 1` requests pass back to back and then one per T. A dropped request leaves the
    state unchanged.
    """
    emission = period_ms / limit
    tolerance = emission * (limit // 10 + 1)
    tat = now_ms if tat_ms is None else max(tat_ms, now_ms)
    new_tat = tat + emission
    if now_ms < new_tat - tolerance:
        return False, tat_ms
    return True, new_tat


def _now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


def run_input(start: dict[str, Any], event: dict[str, Any], events: list[dict[str, Any]]) -> _models.RunInput:
    # A batch's trigger event is its first event: it travels once (event {} = events[0]).
    return _models.RunInput(fn_id=start["fn_id"], event={} if events else event, events=events)


async def start_run(
    start: dict[str, Any], run_id: str, event: dict[str, Any], internal_id: str, events: list[dict[str, Any]], why: str
) -> workflow.ChildWorkflowHandle[Any, Any]:
    """Start the function's run as an abandoned child: it outlives this entity."""
    return await workflow.start_child_workflow(
        start["fn_id"],
        run_input(start, event, events),
        id=run_id,
        task_queue=start["task_queue"],
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=_models.run_search_attributes(
            start["fn_id"], start["app_id"], event["name"], internal_id
        ),
        static_summary=f"{start['name']} <- {event['name']} ({why})",
    )


# -- rate limit -------------------------------------------------------------------------------------
# A run's own retried start (the same event id re-sent) is not counted twice within this window.
RATE_LIMIT_TOKEN_TTL_MS: Final = 30 * 60 * 1000


@dataclasses.dataclass
class RateLimitState:
    tat_ms: float | None = None
    tokens: dict[str, float] = dataclasses.field(default_factory=dict)  # run id -> expiry (ms)


@workflow.defn(name=RATE_LIMIT_WORKFLOW)
class RateLimitWorkflow:
    @workflow.init
    def __init__(self, state: RateLimitState) -> None:
        self._tat = state.tat_ms
        self._tokens = dict(state.tokens)
        self._handled = 0
        self._can_after = _CONTINUE_AS_NEW_AFTER

    @workflow.run
    async def run(self, state: RateLimitState) -> None:
        while True:
            handled = self._handled
            wait_ms = (self._tat or 0) - _now_ms()
            try:
                await workflow.wait_condition(
                    lambda handled=handled: self._handled != handled,
                    timeout=timedelta(milliseconds=max(wait_ms, 0)) + _LINGER,
                )
            except TimeoutError:
                pass
            if self._handled == handled and (self._tat or 0) <= _now_ms():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._handled == handled:
                    return  # everything refilled: a fresh entity is the same
            if self._handled >= self._can_after or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(RateLimitState(self._tat, self._tokens))

    @workflow.update(name="acquire")
    def acquire(self, request: dict[str, Any]) -> dict[str, Any]:
        """request: {limit, period_s, token (the run id when the event has an id) | None}.

        Answers {admitted, retry_after_ms}. A token admitted within the last 30 minutes is admitted
        again without counting (Inngest's rate-limit idempotency): the run's start then dedups it.
        """
        self._handled += 1
        self._can_after = int(request.get("continue_as_new_after") or _CONTINUE_AS_NEW_AFTER)
        now = _now_ms()
        for expired in [t for t, until in self._tokens.items() if until <= now]:
            del self._tokens[expired]
        token = request.get("token")
        if token and token in self._tokens:
            return {"admitted": True, "retry_after_ms": 0}
        limit, period_ms = int(request["limit"]), float(request["period_s"]) * 1000
        admitted, tat = gcra_drop(self._tat, now, limit, period_ms)
        self._tat = tat
        if admitted and token:
            self._tokens[token] = now + RATE_LIMIT_TOKEN_TTL_MS
        retry_after = 0.0
        if not admitted and tat is not None:
            emission = period_ms / limit
            retry_after = tat + emission - emission * (limit // 10 + 1) - now
        return {"admitted": admitted, "retry_after_ms": max(int(retry_after), 0)}


# -- debounce ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class DebounceState:
    burst: dict[str, Any] | None = None


@workflow.defn(name=DEBOUNCE_WORKFLOW)
class DebounceWorkflow:
    @workflow.init
    def __init__(self, state: DebounceState) -> None:
        # burst: {run_id, event, internal_id, opened_ms, due_ms, timeout_ms|None, start}
        self._burst: dict[str, Any] | None = state.burst
        self._handled = 0
        self._can_after = _CONTINUE_AS_NEW_AFTER
        self._fired: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, state: DebounceState) -> None:
        while True:
            if self._fired:
                burst = self._fired.pop(0)
                if burst["start"].get("singleton"):
                    # Singleton comes after debounce (Inngest's order): the routing core's claim,
                    # from an activity (workflows cannot send updates).
                    await workflow.execute_activity(
                        START_DEBOUNCED,
                        {k: burst[k] for k in ("start", "run_id", "event", "internal_id")},
                        start_to_close_timeout=_ACTIVITY_TIMEOUT,
                        retry_policy=_ACTIVITY_RETRY,
                        summary=f"start {burst['run_id']} (singleton)",
                    )
                    continue
                try:
                    await start_run(
                        burst["start"], burst["run_id"], burst["event"], burst["internal_id"],
                        [], "debounced",
                    )
                except WorkflowAlreadyStartedError:
                    workflow.logger.info("debounced run %s exists already", burst["run_id"])
                continue
            if self._burst is None:
                handled = self._handled
                try:
                    await workflow.wait_condition(
                        lambda handled=handled: self._handled != handled or bool(self._fired), timeout=_LINGER
                    )
                except TimeoutError:
                    pass
                if self._burst is None and not self._fired:
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    if self._burst is None and not self._fired:
                        return
                continue
            if self._handled >= self._can_after or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(DebounceState(self._burst))
            burst = self._burst
            due = self._due(burst)
            handled = self._handled
            try:
                await workflow.wait_condition(
                    lambda handled=handled: self._handled != handled,
                    timeout=timedelta(milliseconds=max(due - _now_ms(), 0)),
                )
            except TimeoutError:
                pass
            if self._burst is burst and self._due(burst) <= _now_ms():
                # Decided here, before any await: a push after this opens the next burst.
                self._burst = None
                self._fired.append(burst)

    @staticmethod
    def _due(burst: dict[str, Any]) -> int:
        due = int(burst["due_ms"])
        if burst.get("timeout_ms") is not None:
            due = min(due, int(burst["opened_ms"]) + int(burst["timeout_ms"]))
        return due

    @workflow.update(name="push")
    def push(self, request: dict[str, Any]) -> dict[str, Any]:
        """request: {event, internal_id, period_s, timeout_s|None, run_id (if it opens a burst), start}.

        Answers {run_id, outcome: "opened"|"replaced"|"ignored", replaced: {internal_id, name}|None}.
        """
        self._handled += 1
        self._can_after = int(request.get("continue_as_new_after") or _CONTINUE_AS_NEW_AFTER)
        now = _now_ms()
        event = request["event"]
        period_ms = int(float(request["period_s"]) * 1000)
        burst = self._burst
        if burst is None:
            timeout_s = request.get("timeout_s")
            self._burst = {
                "run_id": request["run_id"],
                "event": event,
                "internal_id": request["internal_id"],
                "opened_ms": now,
                "due_ms": now + period_ms,
                "timeout_ms": None if timeout_s is None else int(float(timeout_s) * 1000),
                "start": request["start"],
            }
            return {"run_id": request["run_id"], "outcome": "opened", "replaced": None}
        if int(event.get("ts") or 0) < int(burst["event"].get("ts") or 0):
            # Older than the kept event: neither replaces it nor extends the period (Inngest).
            return {"run_id": burst["run_id"], "outcome": "ignored", "replaced": None}
        replaced = {"internal_id": burst["internal_id"], "name": burst["event"]["name"], "event": burst["event"]}
        burst["event"] = event
        burst["internal_id"] = request["internal_id"]
        burst["due_ms"] = now + period_ms
        burst["start"] = request["start"]
        return {"run_id": burst["run_id"], "outcome": "replaced", "replaced": replaced}


# -- batch ------------------------------------------------------------------------------------------
@dataclasses.dataclass
class BatchState:
    batch: dict[str, Any] | None = None


@workflow.defn(name=BATCH_WORKFLOW)
class BatchWorkflow:
    @workflow.init
    def __init__(self, state: BatchState) -> None:
        # batch: {run_id, events: [...], internal_id (first), opened_ms, timeout_ms, max_size, start}
        self._batch: dict[str, Any] | None = state.batch
        self._ready: list[dict[str, Any]] = []
        self._handled = 0
        self._can_after = _CONTINUE_AS_NEW_AFTER

    @workflow.run
    async def run(self, state: BatchState) -> None:
        while True:
            if self._ready:
                batch = self._ready.pop(0)
                try:
                    await start_run(
                        batch["start"], batch["run_id"], batch["events"][0], batch["internal_id"],
                        batch["events"], f"batch of {len(batch['events'])}",
                    )
                except WorkflowAlreadyStartedError:
                    workflow.logger.info("batch run %s exists already", batch["run_id"])
                continue
            if self._batch is None:
                handled = self._handled
                try:
                    await workflow.wait_condition(
                        lambda handled=handled: self._handled != handled or bool(self._ready), timeout=_LINGER
                    )
                except TimeoutError:
                    pass
                if self._batch is None and not self._ready:
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    if self._batch is None and not self._ready:
                        return
                continue
            if self._handled >= self._can_after or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(BatchState(self._batch))
            batch = self._batch
            due = int(batch["opened_ms"]) + int(batch["timeout_ms"])
            try:
                await workflow.wait_condition(
                    lambda batch=batch: self._batch is not batch or bool(self._ready),
                    timeout=timedelta(milliseconds=max(due - _now_ms(), 0)),
                )
            except TimeoutError:
                pass
            if self._batch is batch and due <= _now_ms():
                self._batch = None
                self._ready.append(batch)

    @workflow.update(name="add")
    def add(self, request: dict[str, Any]) -> dict[str, Any]:
        """request: {event, internal_id, run_id (if it opens a batch), max_size, timeout_s, start}.

        Answers {run_id, position (0 = first event of the batch), first_internal_id}.
        """
        self._handled += 1
        self._can_after = int(request.get("continue_as_new_after") or _CONTINUE_AS_NEW_AFTER)
        batch = self._batch
        size = int(request.get("size") or 0)
        max_bytes = int(request.get("max_bytes") or 0)
        if batch is not None and max_bytes and batch.get("bytes", 0) + size > max_bytes:
            # Inngest's byte cap per batch: the batch starts now, this event opens the next one.
            self._batch = None
            self._ready.append(batch)
            batch = None
        if batch is None:
            batch = self._batch = {
                "run_id": request["run_id"],
                "events": [],
                "internal_id": request["internal_id"],
                "opened_ms": _now_ms(),
                "timeout_ms": int(float(request["timeout_s"]) * 1000),
                "max_size": int(request["max_size"]),
                "start": request["start"],
            }
        batch["events"].append(request["event"])
        batch["bytes"] = batch.get("bytes", 0) + size
        position = len(batch["events"]) - 1
        if len(batch["events"]) >= int(batch["max_size"]):
            self._batch = None  # full: starts now; the next event opens a new batch
            self._ready.append(batch)
        return {"run_id": batch["run_id"], "position": position, "first_internal_id": batch["internal_id"]}


# -- singleton --------------------------------------------------------------------------------------
@dataclasses.dataclass
class SingletonState:
    active: str | None = None  # carried over continue-as-new: polled, since it is not our child


@workflow.defn(name=SINGLETON_WORKFLOW)
class SingletonWorkflow:
    @workflow.init
    def __init__(self, state: SingletonState) -> None:
        self._active: str | None = state.active
        self._carried = state.active
        self._handled = 0
        self._can_after = _CONTINUE_AS_NEW_AFTER
        self._watchers: dict[str, asyncio.Task[None]] = {}

    @workflow.run
    async def run(self, state: SingletonState) -> None:
        if self._carried is not None:
            self._watchers[self._carried] = asyncio.create_task(self._poll(self._carried))
        while True:
            await workflow.wait_condition(lambda: self._active is None or self._continue_as_new())
            if self._continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(SingletonState(self._active))
            try:
                await workflow.wait_condition(lambda: self._active is not None, timeout=_LINGER)
                continue
            except TimeoutError:
                pass
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._active is None:
                return

    def _continue_as_new(self) -> bool:
        return self._handled >= self._can_after or workflow.info().is_continue_as_new_suggested()

    def _release(self, run_id: str) -> None:
        if self._active == run_id:
            self._active = None

    async def _watch(self, run_id: str, handle: workflow.ChildWorkflowHandle[Any, Any]) -> None:
        with contextlib.suppress(BaseException):  # failed or cancelled: the run is over either way
            await handle
        self._release(run_id)

    async def _poll(self, run_id: str) -> None:
        while self._active == run_id:
            still_open = await workflow.execute_activity(
                RUN_OPEN,
                run_id,
                result_type=bool,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_ACTIVITY_RETRY,
                summary=f"is {run_id} still running?",
            )
            if not still_open:
                self._release(run_id)
                return
            await workflow.sleep(_POLL_CARRIED)

    @workflow.update(name="claim")
    async def claim(self, request: dict[str, Any]) -> dict[str, Any]:
        """request: {mode, run_id, event, internal_id, start}.

        Answers {outcome: "started"|"skipped"|"duplicate", active: run id that blocked it or was
        cancelled, or None}. A repeated claim of the active run (a retried activity) is "started".
        """
        self._handled += 1
        self._can_after = int(request.get("continue_as_new_after") or _CONTINUE_AS_NEW_AFTER)
        run_id = request["run_id"]
        previous = self._active
        if previous is not None and previous != run_id and request["mode"] == "skip":
            # Before refusing, make sure it still runs: its end may be in this very workflow task,
            # behind this update (or it is a run inherited over continue-as-new, checked by polling).
            still_open = await workflow.execute_activity(
                RUN_OPEN,
                previous,
                result_type=bool,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_ACTIVITY_RETRY,
                summary=f"is {previous} still running?",
            )
            if not still_open:
                self._release(previous)
            previous = self._active  # read again: decided below without awaiting
        if previous == run_id:
            return {"outcome": "started", "active": None}
        if previous is not None and request["mode"] == "skip":
            return {"outcome": "skipped", "active": previous}
        self._active = run_id  # decided before any await: a concurrent claim sees it
        if previous is not None:
            try:
                await workflow.get_external_workflow_handle(previous).cancel()
            except Exception as err:  # noqa: BLE001 - it ended meanwhile: nothing to cancel
                workflow.logger.info("singleton run %s not cancelled: %s", previous, err)
        try:
            handle = await start_run(
                request["start"], run_id, request["event"], request["internal_id"], [], "singleton"
            )
        except WorkflowAlreadyStartedError:
            self._release(run_id)
            return {"outcome": "duplicate", "active": previous}
        self._watchers[run_id] = asyncio.create_task(self._watch(run_id, handle))
        return {"outcome": "started", "active": previous}


# -- cron ticks -----------------------------------------------------------------------------------
@workflow.defn(name=CRON_TICK_WORKFLOW)
class CronTickWorkflow:
    """What the schedule of a function with start-time flow control starts at each occurrence: the
    occurrence goes through the routing core (rate limit, debounce, singleton...) like an event."""

    @workflow.run
    async def run(self, tick: dict[str, Any]) -> None:
        """tick: {fn: {id, app_id, name, task_queue, flow_control}, cron}."""
        await workflow.execute_activity(
            CRON_TICK,
            {**tick, "internal_id": _tick_ulid(), "ts": _now_ms()},
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_ACTIVITY_RETRY,
            summary=f"route cron {tick['cron']}",
        )


def _tick_ulid() -> str:
    """A ULID for the occurrence's event, from workflow time and randomness (deterministic)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (_now_ms() << 80) | workflow.random().getrandbits(80)
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(26)))


FLOW_WORKFLOWS: Final = (
    RateLimitWorkflow, DebounceWorkflow, BatchWorkflow, SingletonWorkflow, CronTickWorkflow,
)
