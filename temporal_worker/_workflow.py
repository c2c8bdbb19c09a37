"""The run workflow: drives one Inngest function run (deterministic; no I/O here).

Registered as a dynamic workflow, so the workflow type Temporal records is the function id. The
handler never runs here: it runs in step activities (temporal_worker/_activities.py), which replay
it with the memo, execute the targeted `step.run`, and report the next new step(s). This workflow
maps each reported step to a Temporal primitive: `run` -> activity (type = step id), `sleep` ->
timer, `wait_for_event` -> pause registration + signal with timeout, `invoke` -> child workflow.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from . import _memo, _models
    from ._run_flow import CANCEL_RUN, REGISTER_WAIT, RunFlow
    from ._run_state import MEMO_PAGE_QUERY

DISCOVER = "__discover"
FINISH = "__finish"
INVOKE_FLOW = "__invoke_flow"  # start an invoked run through start-time flow control
AWAIT_RUN = "__await_run"  # wait for a run this workflow did not start as its child
_LA_TIMEOUT = timedelta(minutes=10)
_CARRY_LIMIT = 1536 * 1024  # state a continue-as-new input may carry without a payload store
_LA_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)


class _FunctionFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


@dataclasses.dataclass
class _StepDone:
    hashed: str
    value: Any
    lookahead: dict[str, Any] | None
    started_version: int
    ran: bool = True
    own: bool = True  # written by the workflow itself (not a step.run output)
    others: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # other steps it ran


def _error_of(err: BaseException) -> dict[str, Any]:
    """Inngest's {name, message, stack} for a failure coming back from Temporal."""
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) and err.cause else err
    if isinstance(cause, ApplicationError):
        if cause.details and isinstance(cause.details[0], dict) and "message" in cause.details[0]:
            return dict(cause.details[0])
        return {"name": cause.type or "Error", "message": cause.message, "stack": ""}
    if isinstance(cause, TimeoutError):
        return {"name": "StepTimeoutError", "message": f"step timed out ({cause.type.name if cause.type else 'timeout'})", "stack": ""}
    return {"name": type(cause).__name__, "message": str(cause), "stack": ""}


@workflow.defn(dynamic=True)
class RunWorkflow:
    def __init__(self) -> None:
        self._memo: dict[str, Any] = {}
        self._digest = _memo.Digest()
        self._own_keys: list[str] = []  # memo entries no step activity produced (sent along)
        self._version = 0  # bumped at every memo write: tells stale lookaheads apart
        self._steps_this_run = 0
        self._inflight: dict[str, asyncio.Task[_StepDone]] = {}
        self._kinds: dict[str, str] = {}  # hashed step id -> kind, for steps in flight
        self._mode: str | None = None
        self._received: dict[str, Any] = {}
        self._fn_attempt = 0
        self._config: dict[str, Any] = {}
        self._unreached = 0
        self._flow: RunFlow | None = None
        self._grants: dict[str, dict[str, Any]] = {}
        self._cancel_reason: str | None = None
        self._carried_flow: dict[str, Any] | None = None
        self._restored = False
        self._events_bytes: int | None = None
        self._event_first = False
        self._finish_sent = False
        self._waiting: dict[str, str] = {}  # hashed step id -> event name, waits registered

    @workflow.signal(name=_models.SIGNAL_EVENT)
    def on_event(self, payload: dict[str, Any]) -> None:
        if str(payload["step"]).startswith("cancel:"):  # a cancel_on pause matched
            if self._cancel_reason is None:
                name = (payload.get("event") or {}).get("name")
                self._cancel_reason = f"cancelled by event {name!r}"
            return
        self._received.setdefault(payload["step"], payload["event"])

    @workflow.signal(name=_models.SIGNAL_GRANT)
    def on_grant(self, payload: dict[str, Any]) -> None:
        self._grants[payload["slot"]] = payload

    @workflow.query(name="__memo")
    def memo(self) -> dict[str, Any]:
        return self._memo

    @workflow.query(name=MEMO_PAGE_QUERY)
    def memo_page(self, page: dict[str, Any]) -> dict[str, Any]:
        """Memo entries from position `start` on, up to `max_bytes` of JSON (at least one)."""
        items = list(self._memo.items())
        start, budget = int(page["start"]), int(page["max_bytes"])
        entries: dict[str, Any] = {}
        size, index = 0, start
        while index < len(items):
            key, value = items[index]
            cost = len(json.dumps(value)) + len(key)
            if entries and size + cost > budget:
                break
            entries[key] = value
            size += cost
            index += 1
        return {"entries": entries, "next": index if index < len(items) else None}

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> Any:
        # From the plain JSON object: typed decoding re-resolves the dataclass's hints each time.
        inp = _models.run_input_of(workflow.payload_converter().from_payload(args[0].payload))
        info = workflow.info()
        self._run_id = info.workflow_id
        self._fn_id = info.workflow_type
        # Creation time, not when a worker first picked the run up (timeouts.start counts from it).
        started_ms = int(info.workflow_start_time.timestamp() * 1000)
        self._started_ms = started_ms
        # The trigger event; {} for a batch, whose trigger is its first event (sent once).
        self._event_first = not inp.event and bool(inp.events)
        event = dict(inp.events[0]) if self._event_first else dict(inp.event)
        event.setdefault("data", {})
        if not event.get("id"):
            event["id"] = self._run_id  # cron runs: no event id of their own
        if not event.get("ts"):
            event["ts"] = started_ms
        self._event = event
        self._events = [dict(e) for e in inp.events] or [event]
        if inp.state:
            self._restore(inp.state)
        try:
            value = await self._drive()
        except asyncio.CancelledError:
            await self._finish("Cancelled", error={"name": "Error", "message": "function cancelled", "stack": ""})
            raise
        except _FunctionFailed as failed:
            workflow.logger.warning(
                "run failed: %s: %s", failed.error.get("name"), failed.error.get("message")
            )
            await self._finish("Failed", error=failed.error)
            raise ApplicationError(
                failed.error.get("message", ""),
                failed.error,
                type=failed.error.get("name", "Error"),
                non_retryable=True,
            ) from None
        await self._finish("Completed", result=value)
        return value

    # -- memo -------------------------------------------------------------------------------
    def _write(self, key: str, value: Any, *, own: bool) -> None:
        self._memo[key] = value
        self._digest.add(key, value)
        if own:
            self._own_keys.append(key)
        self._version += 1
        self._steps_this_run += 1
        # As on Inngest, each new call after a step completes starts with a fresh retry budget
        # (its attempt counter starts at 0): errors outside steps count per stretch of code.
        self._fn_attempt = 0
        limit = int(self._config.get("max_state_bytes") or 0)
        if limit and self._digest.bytes > limit:
            raise _FunctionFailed(
                {
                    "name": "InngestErrStateOverflowed",
                    "message": f"run state is {self._digest.bytes} bytes after step {key[:12]}..., "
                    f"over the limit of {limit} bytes",
                    "stack": "",
                }
            )

    def _restore(self, state: dict[str, Any]) -> None:
        own = set(state["own_keys"])
        for key, value in state["memo"].items():
            self._memo[key] = value
            self._digest.add(key, value)
            if key in own:
                self._own_keys.append(key)
        self._fn_attempt = int(state["fn_attempt"])
        self._config = dict(state["config"])
        self._carried_flow = state.get("flow")
        self._restored = True

    def _should_continue_as_new(self) -> bool:
        every = int(self._config.get("continue_as_new_after_steps") or 0)
        if not (every and self._steps_this_run >= every) and not workflow.info().is_continue_as_new_suggested():
            return False
        if not self._config.get("payload_store"):
            # The next run's input carries the memo and the events: without a claim-check store
            # it must fit in one payload. Larger state stays in this run (history allows 50 MiB).
            if self._events_bytes is None:
                self._events_bytes = len(json.dumps(self._trigger()))
            return self._digest.bytes + self._events_bytes < _CARRY_LIMIT
        return True

    async def _continue_as_new(self) -> None:
        """Start the next run of the chain (same workflow id) with the memo; history starts over."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        event, events = self._trigger()
        workflow.continue_as_new(
            _models.RunInput(
                fn_id=self._fn_id,
                event=event,
                events=events,
                state={
                    "memo": self._memo,
                    "own_keys": self._own_keys,
                    "fn_attempt": self._fn_attempt,
                    "config": self._config,
                    "flow": None if self._flow is None else self._flow.state(),
                },
            )
        )

    # -- flow control -----------------------------------------------------------------------
    async def _start_flow(self) -> None:
        """Before the run's code first runs: throttle, cancel pauses, timeouts (see _run_flow)."""
        flow = self._config.get("flow_control") or {}
        if not flow:
            return
        self._flow = RunFlow(
            flow=flow,
            run_id=self._run_id,
            fn_id=self._fn_id,
            event=self._event,
            started_ms=self._started_ms,
            grants=self._grants,
            run_cancelled=lambda: self._cancel_reason is not None,
            carried=self._carried_flow,
        )
        self._flow.arm_timeouts()
        if self._restored:
            return  # pauses live on in the routers; throttling happened in the first run
        await self._flow.register_cancel_pauses()
        if self._flow.throttled:
            await self._flow.wait_for_throttle()

    def _cancel_requested(self) -> bool:
        if self._flow is not None and self._flow.cancel_reason and self._cancel_reason is None:
            self._cancel_reason = self._flow.cancel_reason
        return self._cancel_reason is not None

    async def _cancel_if_requested(self) -> None:
        """cancel_on and timeouts act between steps: never while a step.run is executing."""
        if not self._cancel_requested():
            return
        if any(self._kinds.get(h) == "run" for h in self._inflight):
            return
        workflow.logger.info("run cancelled: %s", self._cancel_reason)
        await workflow.execute_local_activity(
            CANCEL_RUN, self._run_id, start_to_close_timeout=_LA_TIMEOUT, summary="cancel"
        )
        await workflow.wait_condition(lambda: False)  # the cancellation arrives here

    # -- the scheduler ------------------------------------------------------------------------
    async def _drive(self) -> Any:
        outcome = await self._discover(preflight=not self._restored)
        if outcome["status"] == "preflight" or self._config.get("flow_control"):
            await self._start_flow()
            await self._cancel_if_requested()
            if self._flow is not None:
                self._flow.first_step()
            if outcome["status"] == "preflight":
                outcome = await self._discover()
        while True:
            await self._cancel_if_requested()
            status = outcome["status"]
            if status == "done":
                self._finish_sent = bool(outcome.get("finished"))  # by the activity it ended in
                return outcome["value"]
            if status == "error":
                await self._retry_function(outcome)
                outcome = await self._discover()
                continue
            if not self._inflight and self._should_continue_as_new():
                await self._continue_as_new()
            self._schedule(outcome["planned"])
            outcome = await self._next_outcome()

    def _schedule(self, planned: list[dict[str, Any]]) -> None:
        for p in planned:
            h = p["hashed"]
            if h in self._memo or h in self._inflight:
                continue
            max_steps = int(self._config.get("max_steps") or 0)
            if max_steps and len(self._memo) + len(self._inflight) >= max_steps:
                raise _FunctionFailed(
                    {
                        "name": "InngestErrFunctionOverflowed",
                        "message": f"step {p['id']!r} would be step {max_steps + 1}: a run may have "
                        f"at most {max_steps} steps",
                        "stack": "",
                    }
                )
            if p.get("error"):  # refused when reported (bad wait expression, unknown invoke target)
                self._write(h, {"error": p["error"]}, own=True)
                continue
            self._mode = p.get("parallel_mode")
            self._kinds[h] = p["kind"]
            self._inflight[h] = asyncio.create_task(self._run_step(p, self._version))

    async def _next_outcome(self) -> dict[str, Any]:
        candidate: dict[str, Any] | None = None
        while self._inflight:
            if self._cancel_requested():
                # cancel_on / a timeout: it waits for the step.run(s) executing (none: it
                # cancels here); watching the cancellation again would return at once, forever.
                await self._cancel_if_requested()
                runs = [t for h, t in self._inflight.items() if self._kinds.get(h) == "run"]
                done, _ = await workflow.wait(runs, return_when=asyncio.FIRST_COMPLETED)
            elif self._flow is None and len(self._inflight) == 1:
                # Nothing can cancel this run between steps (no cancel_on, no timeouts): wait
                # for the one step without watching for a cancellation as well.
                (only,) = self._inflight.values()
                await workflow.wait([only])
                done = {only}
            else:
                watch = asyncio.create_task(workflow.wait_condition(self._cancel_requested))
                done, _ = await workflow.wait(
                    [*self._inflight.values(), watch], return_when=asyncio.FIRST_COMPLETED
                )
                if watch not in done:
                    watch.cancel()
            for task in [t for t in self._inflight.values() if t in done]:  # deterministic order
                try:
                    result = task.result()
                except (ActivityError, ChildWorkflowError) as err:
                    raise _FunctionFailed(_error_of(err)) from err
                del self._inflight[result.hashed]
                self._kinds.pop(result.hashed, None)
                trusted = result.lookahead is not None and result.started_version == self._version
                for other in result.others:  # the step's call ran another step instead
                    if other["hashed"] not in self._memo:
                        self._write(other["hashed"], other["output"], own=False)
                        trusted = False
                if result.ran:
                    self._write(result.hashed, result.value, own=result.own)
                    self._unreached = 0
                elif result.others:
                    self._unreached = 0  # no target, but the code moved on
                else:
                    self._unreached += 1
                    if self._unreached > 3:
                        raise _FunctionFailed(
                            {
                                "name": "StepNotFoundError",
                                "message": "a planned step is no longer reached by the function's code",
                                "stack": "",
                            }
                        )
                candidate = result.lookahead if trusted else None
            if self._inflight and self._mode != "race":
                continue  # WAIT: the next discovery happens once every branch step is done
            if self._inflight and candidate is None:
                return await self._discover()
            if self._inflight:
                return candidate  # type: ignore[return-value]
        return candidate if candidate is not None else await self._discover()

    async def _retry_function(self, outcome: dict[str, Any]) -> None:
        """An error outside steps: Inngest retries the function, then fails the run."""
        error = outcome["error"] or {"name": "Error", "message": "unknown error", "stack": ""}
        if not outcome.get("retriable", True) or self._fn_attempt >= self._config["retries"]:
            raise _FunctionFailed(error)
        self._fn_attempt += 1
        delay = outcome.get("retry_after_seconds") or self._backoff(self._fn_attempt)
        workflow.logger.info(
            "function error, retrying in %ss (retry %d of %d): %s: %s",
            delay, self._fn_attempt, self._config["retries"], error.get("name"), error.get("message"),
        )
        await workflow.sleep(delay, summary=f"retry {self._fn_attempt}: {error.get('name')}")

    def _backoff(self, attempt: int) -> float:
        initial = float(self._config["retry_initial_interval"])
        return min(initial * 2 ** (attempt - 1), float(self._config["retry_max_interval"]))

    # -- activities ---------------------------------------------------------------------------
    def _trigger(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The event and events as inputs carry them, each event once: events [] means [event]
        (a run started by one event), event {} means events[0] (a batch)."""
        if len(self._events) == 1 and self._events[0] is self._event:
            return self._event, []
        if self._event_first:
            return {}, self._events
        return self._event, self._events

    def _step_input(self, target: str | None, attempt: int = 0, *, full: bool) -> dict[str, Any]:
        """A `_models.StepInput` as the dict activities decode it from (built as a dict: turning a
        dataclass into one costs far more inside the workflow sandbox, at every step).

        Local activities get the full memo (their input stays out of history); step activities
        get the workflow's own entries and the digest (history grows with state, not steps x state)."""
        event, events = self._trigger()
        return {
            "fn_id": self._fn_id,
            "run_id": self._run_id,
            "event": event,
            "events": events,
            "memo": self._memo if full else {k: self._memo[k] for k in self._own_keys},
            "target": target,
            "attempt": attempt,
            "max_attempts": int(self._config.get("retries", 0)) + 1,
            "memo_digest": None if full else self._digest.value(),
            "preflight": False,
            "inline": bool(self._config.get("inline_steps")),
        }

    async def _discover(self, *, preflight: bool = False) -> dict[str, Any]:
        if self._config.get("inline_steps"):
            return await self._discover_in_activity()
        if (self._config.get("flow_control") or {}).get("cancel"):
            # A cancel event that arrives while the function's code runs must reach this
            # workflow before the call's result does: a local activity holds the workflow task
            # (and the signal with it) until it ends; an activity does not.
            return await self._discover_in_activity(inline=False)
        step_input = self._step_input(None, self._fn_attempt, full=True)
        step_input["preflight"] = preflight
        try:
            outcome: dict[str, Any] = await workflow.execute_local_activity(
                DISCOVER,
                step_input,
                start_to_close_timeout=_LA_TIMEOUT,
                retry_policy=_LA_RETRY,
            )
        except ActivityError as err:
            raise _FunctionFailed(_error_of(err)) from err
        if outcome.get("config"):
            self._config = outcome["config"]
        if outcome["status"] == "needs_activity":
            # An SDK app will fetch this run's state from the API (too large to send): that
            # queries this workflow, which cannot answer while a local activity holds its task.
            return await self._discover_in_activity(inline=False)
        return outcome

    async def _discover_in_activity(self, *, inline: bool = True) -> dict[str, Any]:
        """Discovery as a regular activity (it heartbeats and retries with the function's policy;
        the workflow stays free to answer queries and take signals meanwhile). Inline mode: the
        call may run the next step in it, as Inngest's executor does; steps it ran come back
        under "ran" and are memoized here."""
        step_input = self._step_input(None, self._fn_attempt, full=False)
        step_input["inline"] = inline
        try:
            outcome: dict[str, Any] = await workflow.execute_activity(
                DISCOVER,
                step_input,
                summary="call (runs the next step)" if inline else "discover",
                retry_policy=self._retry_policy(),
                start_to_close_timeout=timedelta(seconds=float(self._config["step_timeout"])),
                heartbeat_timeout=timedelta(seconds=float(self._config["heartbeat_timeout"])),
            )
        except ActivityError as err:
            raise _FunctionFailed(_error_of(err)) from err
        if outcome.get("config"):
            self._config = outcome["config"]
        for ran in outcome.get("ran") or []:
            if ran["hashed"] not in self._memo:
                self._write(ran["hashed"], ran["output"], own=False)
                self._unreached = 0
        return outcome

    def _retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=float(self._config["retry_initial_interval"])),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=float(self._config["retry_max_interval"])),
            maximum_attempts=int(self._config["retries"]) + 1,
            non_retryable_error_types=["NonRetriableError"],
        )

    async def _execute_step(self, p: dict[str, Any], h: str) -> dict[str, Any]:
        if self._config.get("local_steps"):
            # Fast mode: the step runs in this worker as a local activity (its input, the full
            # memo, stays out of history; the UI shows a marker per step, not an activity).
            local: dict[str, Any] = await workflow.execute_local_activity(
                p["id"],
                self._step_input(h, full=True),
                activity_id=p["id"],
                retry_policy=self._retry_policy(),
                start_to_close_timeout=timedelta(seconds=float(self._config["step_timeout"])),
            )
            return local
        outcome: dict[str, Any] = await workflow.execute_activity(
            p["id"],
            self._step_input(h, full=False),
            activity_id=p["id"],
            retry_policy=self._retry_policy(),
            start_to_close_timeout=timedelta(seconds=float(self._config["step_timeout"])),
            heartbeat_timeout=timedelta(seconds=float(self._config["heartbeat_timeout"])),
        )
        return outcome

    async def _run_step(self, p: dict[str, Any], version: int) -> _StepDone:
        kind, h = p["kind"], p["hashed"]
        if kind == "run":
            held = await self._flow.acquire(h) if self._flow is not None else []
            try:
                outcome = await self._execute_step(p, h)
            finally:
                if held:
                    assert self._flow is not None
                    await self._flow.release(held)
            others = list(outcome.get("ran") or [])
            if not outcome.get("target_ran"):
                return _StepDone(h, None, outcome, version, ran=False, own=False, others=others)
            # The activity looked ahead when it says what comes next; otherwise discover.
            ahead = outcome if outcome["status"] in ("done", "error") or outcome.get("planned") else None
            return _StepDone(h, outcome["target_output"], ahead, version, own=False, others=others)
        if kind == "sleep":
            await workflow.sleep(self._sleep_seconds(p["opts"]), summary=p["id"])
            return _StepDone(h, None, None, version)
        if kind == "wait_for_event":
            return _StepDone(h, await self._wait_for_event(p), None, version)
        if kind == "invoke":
            return _StepDone(h, await self._invoke(p), None, version)
        raise _FunctionFailed(
            {"name": "Error", "message": f"unknown step kind {kind!r} (step {p['id']!r})", "stack": ""}
        )

    @staticmethod
    def _sleep_seconds(opts: dict[str, Any]) -> float:
        if "until" in opts:
            until = datetime.fromisoformat(opts["until"])
            return max((until - workflow.now()).total_seconds(), 0.0)
        return max(float(opts["seconds"]), 0.0)

    async def _wait_for_event(self, p: dict[str, Any]) -> Any:
        opts, h = p["opts"], p["hashed"]
        now_ms = int(workflow.now().timestamp() * 1000)
        timeout = float(opts["timeout_seconds"])
        await workflow.execute_local_activity(
            REGISTER_WAIT,
            {
                "event_name": opts["event"],
                "pause": {
                    "run_id": self._run_id,
                    "step": h,
                    "expression": opts.get("expression"),
                    "created_ms": now_ms,
                    "expires_ms": now_ms + int(timeout * 1000),
                },
            },
            start_to_close_timeout=_LA_TIMEOUT,
            retry_policy=_LA_RETRY,
            summary=f"register wait: {p['id']}",
        )
        self._waiting[h] = opts["event"]
        try:
            await workflow.wait_condition(
                lambda: h in self._received,
                timeout=timeout,
                timeout_summary=f"{p['id']} (wait for {opts['event']})",
            )
        except asyncio.TimeoutError:
            self._waiting.pop(h, None)  # the router drops an expired pause itself
            return None
        self._waiting.pop(h, None)  # (not on cancellation: _finish unregisters what is left)
        return self._received[h]

    async def _invoke(self, p: dict[str, Any]) -> Any:
        opts = p["opts"]
        target = opts["function_id"]
        now_ms = int(workflow.now().timestamp() * 1000)
        data = dict(opts.get("data") or {})
        data["_inngest"] = {
            "fn_id": target,
            "correlation_id": f"{self._run_id}.{p['id']}",
            "source_fn_id": self._fn_id,
            "source_run_id": self._run_id,
        }
        event: dict[str, Any] = {"name": "inngest/function.invoked", "data": data, "id": "", "ts": now_ms}
        if opts.get("v"):
            event["v"] = opts["v"]
        child_id = f"{target}:invoke:{workflow.uuid4()}"
        event["id"] = child_id
        timeout = opts.get("timeout_seconds")
        if opts.get("flow"):
            return await self._invoke_through_flow(target, event, child_id, timeout)
        handle = await workflow.start_child_workflow(
            target,
            _models.RunInput(fn_id=target, event=event, events=[event]),
            id=child_id,
            task_queue=opts["task_queue"],
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"invoked by {self._fn_id} step {p['id']}",
            search_attributes=_models.run_search_attributes(
                target, opts.get("app_id", ""), event["name"], child_id
            ),
        )
        done, _ = await workflow.wait([handle], timeout=timeout)
        if not done:
            return {
                "error": {
                    "name": "InngestInvokeTimeoutError",
                    "message": "Timed out waiting for invoked function to complete",
                    "stack": "",
                }
            }
        try:
            return {"data": await handle}
        except ChildWorkflowError as err:
            return {"error": _error_of(err)}

    async def _invoke_through_flow(
        self, target: str, event: dict[str, Any], run_id: str, timeout: float | None
    ) -> Any:
        """Invoke a function with start-time flow control: as Inngest, a skipped child fails the
        invoke at once; a debounced or batched one fails it at the invoke's timeout."""
        started: dict[str, Any] = await workflow.execute_local_activity(
            INVOKE_FLOW,
            {"fn_id": target, "event": event, "run_id": run_id},
            start_to_close_timeout=_LA_TIMEOUT,
            retry_policy=_LA_RETRY,
            summary=f"invoke {target} (flow control)",
        )
        skip = started.get("skip") or {}
        if not started["started"] and skip.get("reason") not in (None, "debounced", "batched"):
            return {
                "error": {
                    "name": "InngestInvokeSkippedError",
                    "message": f"invoked function {target!r} did not run: {skip.get('message') or skip.get('reason')}",
                    "stack": "",
                }
            }
        wait = timedelta(seconds=timeout) if timeout else timedelta(days=366)
        if started["started"]:
            try:
                result: Any = await workflow.execute_activity(
                    AWAIT_RUN,
                    run_id,
                    schedule_to_close_timeout=wait,
                    heartbeat_timeout=timedelta(seconds=float(self._config["heartbeat_timeout"])),
                    summary=f"await {run_id}",
                )
                return result
            except ActivityError as err:
                if not isinstance(err.cause, TimeoutError):
                    raise
        else:
            await workflow.sleep(wait, summary=f"invoke {target}: no run started")
        return {
            "error": {
                "name": "InngestInvokeTimeoutError",
                "message": "Timed out waiting for invoked function to complete",
                "stack": "",
            }
        }

    async def _unregister_waits(self) -> None:
        """A run that ends while waiting (cancelled, failed in a parallel branch) takes its pauses
        out of the routers: else they would linger there until their timeout."""
        for h, event_name in sorted(self._waiting.items()):
            router = workflow.get_external_workflow_handle(f"{_models.PAUSES_WORKFLOW_ID_PREFIX}{event_name}")
            try:
                await router.signal("unregister", {"run_id": self._run_id, "step": h})
            except Exception as err:  # noqa: BLE001 - the router is gone: nothing is left to remove
                workflow.logger.debug("wait pause already gone: %s", err)
        self._waiting.clear()

    async def _finish(self, status: str, *, result: Any = None, error: dict[str, Any] | None = None) -> None:
        """Emit Inngest's inngest/function.finished (and .failed / .cancelled) events."""
        if self._flow is not None:
            await self._flow.unregister_cancel_pauses()
        await self._unregister_waits()
        if status == "Completed" and self._finish_sent:
            return
        try:
            await workflow.execute_local_activity(
                FINISH,
                {
                    "fn_id": self._fn_id,
                    "run_id": self._run_id,
                    "status": status,
                    "event": self._event,
                    "events": self._events,
                    "result": result,
                    "error": error,
                },
                start_to_close_timeout=_LA_TIMEOUT,
                retry_policy=_LA_RETRY,
            )
        except ActivityError as err:
            # The run's own outcome stands; what listens to its finish events misses them.
            workflow.logger.error(
                "run %s: its inngest/function.finished events could not be sent: %s",
                status,
                _error_of(err).get("message"),
            )
