"""Step activities: replay a function through its executor, run the targeted step, report the next."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import temporalio.client
import temporalio.service
from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from . import _expressions, _memo, _models
from ._executors import ReplayRequest, StepExecutor
from ._registry import SYSTEM_TASK_QUEUE, Registry
from ._routing import EventRouter
from ._run_state import fetch_memo
from ._settings import WorkerSettings
from ._system_workflows import PausesState
from ._flow_routing import FlowControl
from ._workflow import AWAIT_RUN, DISCOVER, FINISH, INVOKE_FLOW, REGISTER_WAIT
from . import _run_flow
from ._limits import CLOSED_RUNS

logger = logging.getLogger(__name__)

_TEMPORAL_PAYLOAD_LIMIT = 2 * 1024 * 1024 - 64 * 1024  # 2 MiB, less room for the envelope
_STEP_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(_models.StepInput))


def _step_input(raw: dict[str, Any]) -> _models.StepInput:
    """A StepInput from its JSON object. Built here: the data converter's typed conversion
    resolves the dataclass's type hints again at every call, a cost paid at every step."""
    return _models.StepInput(**{k: v for k, v in raw.items() if k in _STEP_INPUT_FIELDS})


def _trigger_of(inp: _models.StepInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's event and events; inputs carry each event once (see RunWorkflow._trigger)."""
    event = inp.event or (inp.events[0] if inp.events else {})
    return event, list(inp.events) or [event]


_FINISH_EVENT_BYTES = 1024 * 1024  # what a run's trigger may add to its finish events
_WAKE_CONCURRENCY = 32  # signals in flight while the pause router wakes runs


def _trim_trigger(data: dict[str, Any]) -> None:
    """Finish events carry the run's trigger event and events: a large batch or event would make
    them too large to route (an event is one Temporal payload). Keep what fits: the trigger
    event first (what on_failure handlers read), then its data only."""
    if len(json.dumps(data.get("events"), default=str)) + len(json.dumps(data.get("event"), default=str)) <= _FINISH_EVENT_BYTES:
        return
    data["events"] = []
    event = data.get("event") or {}
    if len(json.dumps(event, default=str)) > _FINISH_EVENT_BYTES:
        data["event"] = {**{k: v for k, v in event.items() if k != "data"}, "data": {}}
    data.setdefault("_inngest", {})["trigger_trimmed"] = True


class StepActivities:
    """The activities a worker registers; built with its functions and Temporal-backed services."""

    def __init__(
        self,
        executor: StepExecutor,
        *,
        client: temporalio.client.Client,
        registry: Registry,
        router: EventRouter,
        settings: WorkerSettings,
    ) -> None:
        self._executor = executor
        self._memos = _memo.MemoCache()
        self._client = client
        self._registry = registry
        self._router = router
        self._settings = settings

    def activities(self) -> list[Any]:
        return [
            self.step,
            self.discover,
            self.register_wait,
            self.finish,
            self.signal_with_start,
            self.cancel_run,
            self.invoke_flow,
            self.await_run,
        ]

    # -- helpers ------------------------------------------------------------------------------
    def _config(self, fn_id: str) -> dict[str, Any]:
        config = self._executor.config(fn_id)
        if config is None:
            raise ApplicationError(
                f"function {fn_id!r} is not served by this worker (it serves: "
                f"{', '.join(self._executor.function_ids()) or 'nothing'}); start a worker with the "
                "app that defines it",
                type="FunctionNotFoundError",
                non_retryable=True,
            )
        s = self._settings
        return {
            "retries": config.retries,
            "retry_initial_interval": s.retry_initial_interval,
            "retry_max_interval": s.retry_max_interval,
            "heartbeat_timeout": s.heartbeat_timeout,
            "step_timeout": s.step_timeout,
            "continue_as_new_after_steps": s.continue_as_new_after_steps,
            "max_steps": s.max_steps,
            "max_state_bytes": s.max_state_bytes,
            "flow_control": config.flow_control,
            "local_steps": config.local_steps,
            "inline_steps": config.inline_steps,
            "payload_store": bool(s.payload_store),
        }

    async def _full_memo(self, inp: _models.StepInput) -> dict[str, Any]:
        """The run's whole memo: given in full, or cached here plus the delta, or asked for."""
        if inp.memo_digest is None:
            cached = self._memos.get(inp.run_id)
            if cached is None or any(k not in inp.memo for k in cached.entries):
                cached = _memo.RunMemo()
            for key, value in inp.memo.items():
                cached.add(key, value)
            self._memos.put(inp.run_id, cached)
            return dict(inp.memo)
        cached = self._memos.get(inp.run_id) or _memo.RunMemo()
        for key, value in inp.memo.items():
            cached.add(key, value)
        if cached.digest.value() == inp.memo_digest:
            self._memos.hits += 1
            self._memos.put(inp.run_id, cached)
            return dict(cached.entries)
        # Another worker ran some steps, or this one restarted: the workflow has the memo.
        self._memos.misses += 1
        full = await fetch_memo(self._client, inp.run_id)
        fresh = _memo.RunMemo.of(full)
        if fresh.digest.value() != inp.memo_digest:
            logger.warning(
                "memo digest differs after query; using the workflow's memo",
                extra={"run_id": inp.run_id, "expected": inp.memo_digest, "got": fresh.digest.value()},
            )
        self._memos.put(inp.run_id, fresh)
        return dict(full)

    async def _replay(
        self, inp: _models.StepInput, *, attempt: int, final: bool, local: bool = False
    ) -> dict[str, Any]:
        await self._executor.prepare(inp.fn_id)
        self._config(inp.fn_id)  # refuses functions this worker does not serve
        memo = await self._full_memo(inp)
        event, events = _trigger_of(inp)
        outcome = await self._executor.replay(
            ReplayRequest(
                fn_id=inp.fn_id,
                run_id=inp.run_id,
                event=event,
                events=events,
                memo=memo,
                target=inp.target,
                attempt=attempt,
                final_attempt=final,
                inline=inp.inline,
                local=local,
            )
        )
        cached = self._memos.get(inp.run_id)
        if cached is not None:
            if inp.target is not None and outcome.get("target_output") is not None:
                cached.add(inp.target, outcome["target_output"])
            for ran in outcome.get("ran") or []:  # steps a discovery call ran (inline mode)
                cached.add(ran["hashed"], ran["output"])
        return outcome

    async def _prepare(self, out: dict[str, Any], inp: _models.StepInput) -> dict[str, Any]:
        """The outcome for the workflow, with reported steps checked and resolved."""
        for p in out["planned"]:
            if p["kind"] == "wait_for_event":
                self._prepare_wait(p, _trigger_of(inp)[0])
            elif p["kind"] == "invoke":
                await self._prepare_invoke(p)
        if out["status"] == "done":
            flow = self._config(inp.fn_id)["flow_control"]
            # Not when something may still cancel the run after its code returned.
            if not (flow.get("cancel") or flow.get("timeouts")):
                await self._finished_here(inp, out)
        return out

    @staticmethod
    def _prepare_wait(p: dict[str, Any], trigger: dict[str, Any]) -> None:
        source = p["opts"].get("if_exp")
        if not source:
            p["opts"]["expression"] = None
            return
        try:
            fixed = _expressions.interpolate(source, "event", trigger)
            _expressions.compile_expression(fixed, variables=("async",))
        except _expressions.ExpressionError as err:
            p["error"] = {
                "name": "ExpressionError",
                "message": f"wait_for_event {p['id']!r}: {err}",
                "stack": "",
            }
            return
        p["opts"]["expression"] = fixed

    async def _prepare_invoke(self, p: dict[str, Any]) -> None:
        target = p["opts"]["function_id"]
        spec = await self._registry.function(target)
        if spec is None:
            known = sorted(f.id for f in await self._registry.functions())
            p["error"] = {
                "name": "FunctionNotFoundError",
                "message": (
                    f"step.invoke {p['id']!r}: could not find function {target!r} "
                    f"(ids are '<app_id>-<fn_id>'; synced functions: {', '.join(known) or 'none'})"
                ),
                "stack": "",
            }
            return
        p["opts"]["task_queue"] = spec.task_queue
        p["opts"]["app_id"] = spec.app_id
        # Start-time flow control (rate limit, singleton, debounce...) applies to invoked runs too.
        p["opts"]["flow"] = FlowControl.applies(spec)

    # -- activities ---------------------------------------------------------------------------
    @activity.defn(dynamic=True)
    async def step(self, args: Sequence[RawValue]) -> dict[str, Any]:
        """Run one `step.run` (activity type = step id), then look ahead to the next step."""
        inp = _step_input(activity.payload_converter().from_payload(args[0].payload))
        info = activity.info()
        outcome = await self._replay_heartbeating(
            inp, attempt=info.attempt - 1, final=info.attempt >= inp.max_attempts
        )
        self._raise_step_failure(outcome)
        self._check_payload_size(outcome, activity.info().activity_type)
        return await self._prepare(outcome, inp)

    async def _replay_heartbeating(
        self, inp: _models.StepInput, *, attempt: int, final: bool
    ) -> dict[str, Any]:
        # Local activities (compat.temporal_options(local_steps=True)) cannot heartbeat.
        local = activity.info().is_local
        heartbeat = asyncio.create_task(self._heartbeat() if not local else asyncio.sleep(0))
        try:
            return await self._replay(inp, attempt=attempt, final=final)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    @staticmethod
    def _raise_step_failure(outcome: dict[str, Any]) -> None:
        """A step's retriable error fails the activity (Temporal retries it, after `retry-after`)."""
        if outcome["status"] != "step_failed":
            return
        error = outcome["error"] or {}
        delay = outcome.get("retry_after_seconds")
        raise ApplicationError(
            error.get("message", ""),
            error,
            type=error.get("name", "Error"),
            non_retryable=not outcome.get("retriable", True),
            next_retry_delay=None if delay is None else timedelta(seconds=delay),
        )

    def _check_payload_size(self, outcome: dict[str, Any], step_id: str) -> None:
        """Without a payload store, Temporal refuses payloads over 2 MiB: say so, naming the step."""
        output = outcome.get("target_output")
        if self._settings.payload_store or output is None:
            return
        size = len(json.dumps(output))
        if size > _TEMPORAL_PAYLOAD_LIMIT:
            raise ApplicationError(
                f"output of step {step_id!r} is {size} bytes; Temporal stores at most "
                f"{_TEMPORAL_PAYLOAD_LIMIT} bytes per payload. Set INNGEST_TEMPORAL_PAYLOAD_STORE "
                "(a claim-check store for large payloads) to allow up to 4 MiB per step",
                type="OutputTooLargeError",
                non_retryable=True,
            )

    async def _heartbeat(self) -> None:
        interval = max(self._settings.heartbeat_timeout / 3.0, 0.2)
        while True:  # none at once: most steps end long before a heartbeat is due
            await asyncio.sleep(interval)
            activity.heartbeat()

    @activity.defn(name=DISCOVER)
    async def discover(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Replay the handler without running any step: report what comes next."""
        inp = _step_input(payload)
        await self._executor.prepare(inp.fn_id)
        config = self._config(inp.fn_id)
        info = activity.info()
        flow = config["flow_control"]
        if inp.preflight and (flow.get("throttle") or flow.get("cancel")):
            # The run must wait for its throttle admission, and register its cancel pauses (an
            # event sent while the first call runs cancels it), before any of its code runs.
            return {"status": "preflight", "planned": [], "config": config}
        if config["inline_steps"] and info.is_local:
            # Inline mode: discovery calls may run steps, so they are regular activities; this
            # first (local) one only tells the workflow so.
            return {"status": "preflight", "planned": [], "config": config}
        if not info.is_local:
            # A regular activity (inline mode, or state an SDK app fetches from the API): a step
            # it runs inline is retried with this activity.
            outcome = await self._replay_heartbeating(
                inp,
                attempt=inp.attempt + info.attempt - 1,
                final=info.attempt >= inp.max_attempts,
            )
            self._raise_step_failure(outcome)
            for ran in outcome.get("ran") or []:
                self._check_payload_size({"target_output": ran["output"]}, ran["id"])
        else:
            outcome = await self._replay(inp, attempt=inp.attempt, final=False, local=True)
        out = await self._prepare(outcome, inp)
        out["config"] = config
        return out

    @activity.defn(name=REGISTER_WAIT)
    async def register_wait(self, payload: dict[str, Any]) -> None:
        """Durably register a pause with the event name's router before the run waits."""
        name = payload["event_name"]
        await self._client.start_workflow(
            _models.PAUSES_WORKFLOW,
            PausesState(),
            id=f"{_models.PAUSES_WORKFLOW_ID_PREFIX}{name}",
            task_queue=SYSTEM_TASK_QUEUE,
            start_signal="register",
            start_signal_args=[payload["pause"]],
            static_summary=f"runs waiting for {name}",
        )

    @activity.defn(name=_run_flow.SIGNAL_WITH_START)
    async def signal_with_start(self, payload: dict[str, Any]) -> None:
        """Signal one of our entity workflows (concurrency, throttle), starting it if needed."""
        await self._client.start_workflow(
            payload["workflow"],
            payload["state"],
            id=payload["id"],
            task_queue=SYSTEM_TASK_QUEUE,
            start_signal=payload["signal"],
            start_signal_args=[payload["payload"]],
        )

    @activity.defn(name=_run_flow.CANCEL_RUN)
    async def cancel_run(self, run_id: str) -> None:
        """A run cancels itself (cancel_on, timeouts): Temporal then records it as Cancelled."""
        await self._client.get_workflow_handle(run_id).cancel()

    @activity.defn(name=INVOKE_FLOW)
    async def invoke_flow(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start an invoked run through start-time flow control; say whether it started."""
        spec = await self._registry.function(request["fn_id"])
        if spec is None:
            raise ApplicationError(
                f"could not find function {request['fn_id']!r} to invoke",
                type="FunctionNotFoundError",
                non_retryable=True,
            )
        return await self._router.start_invoked(spec, request["event"], request["run_id"])

    @activity.defn(name=AWAIT_RUN)
    async def await_run(self, run_id: str) -> dict[str, Any]:
        """Wait for an invoked run started outside this workflow: its memo entry for the invoke."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            return {"data": await self._client.get_workflow_handle(run_id).result()}
        except temporalio.client.WorkflowFailureError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                detail = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else None
                return {"error": detail or {"name": cause.type or "Error", "message": cause.message, "stack": ""}}
            return {"error": {"name": type(cause).__name__, "message": str(cause), "stack": ""}}
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    @activity.defn(name=FINISH)
    async def finish(self, payload: dict[str, Any]) -> None:
        """Emit inngest/function.finished, and .failed or .cancelled (what on_failure listens to)."""
        await self._router.send(_finish_events(payload))

    async def _finished_here(self, inp: _models.StepInput, out: dict[str, Any]) -> None:
        """The function returned in this activity: send its inngest/function.finished now, which
        spares the run workflow a local activity at its end (the event's id is fixed, so a second
        sending starts nothing twice). If sending fails, the workflow sends it."""
        event, events = _trigger_of(inp)
        payload = {
            "fn_id": inp.fn_id, "run_id": inp.run_id, "status": "Completed", "event": event,
            "events": events, "result": out.get("value"), "error": None,
        }
        try:
            await self._router.send(_finish_events(payload))
        except Exception:  # noqa: BLE001 - the step ran: never fail (and so retry) it for this
            logger.warning("finish event not sent from the activity", exc_info=True, extra={"run_id": inp.run_id})
            return
        out["finished"] = True


def _finish_events(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """inngest/function.finished, and .failed or .cancelled, for a run that ended."""
    run_id, status = payload["run_id"], payload["status"]
    error = payload["error"]
    if isinstance(error, dict) and isinstance(error.get("error"), str):
        # An SDK app's failure: the event carries Inngest's StandardError, not the SDK's body.
        error = {k: error.get(k) for k in ("error", "name", "message", "stack")}
    base = {
        "function_id": payload["fn_id"],
        "run_id": run_id,
        "event": payload["event"],
        "events": payload["events"],
    }
    finished: dict[str, Any] = {**base, "_inngest": {"status": status}}
    if status == "Completed":
        finished["result"] = payload["result"]
    else:
        finished["error"] = error
    _trim_trigger(finished)
    events = [{"name": "inngest/function.finished", "id": f"{run_id}:finished", "data": finished}]
    if status == "Failed":
        failed = {**base, "error": error}
        _trim_trigger(failed)
        events.append({"name": "inngest/function.failed", "id": run_id, "data": failed})
    elif status == "Cancelled":
        cancelled = {**base, "error": error}
        _trim_trigger(cancelled)
        events.append({"name": "inngest/function.cancelled", "id": run_id, "data": cancelled})
    return events


class SystemActivities:
    """Activities of the system task queue (our entity workflows)."""

    def __init__(self, client: temporalio.client.Client) -> None:
        self._client = client

    def activities(self) -> list[Any]:
        return [self.closed_runs, self.wake_runs]

    @activity.defn(name=_models.WAKE_RUNS)
    async def wake_runs(self, wakes: list[dict[str, Any]]) -> None:
        """Signal each run an event resumes: [{"event", "runs": [{"run_id", "step"}]}]. A run that
        is gone (finished, cancelled) has nothing to wake; other errors fail the attempt, and a
        retry signals again (a run keeps the first event a step gets)."""
        gate = asyncio.Semaphore(_WAKE_CONCURRENCY)

        async def wake(event: dict[str, Any], run: dict[str, Any]) -> None:
            async with gate:
                handle = self._client.get_workflow_handle(run["run_id"])
                try:
                    await handle.signal(_models.SIGNAL_EVENT, {"step": run["step"], "event": event})
                except temporalio.service.RPCError as err:
                    if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                        raise
                    activity.logger.info("waiting run is gone", extra={"run_id": run["run_id"]})

        await asyncio.gather(*(wake(w["event"], run) for w in wakes for run in w["runs"]))

    @activity.defn(name=CLOSED_RUNS)
    async def closed_runs(self, run_ids: list[str]) -> list[str]:
        """Which of these runs are no longer running (their concurrency slots can be freed)."""
        closed = []
        for run_id in run_ids:
            try:
                desc = await self._client.get_workflow_handle(run_id).describe()
            except temporalio.service.RPCError as err:
                if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                    raise
                closed.append(run_id)
                continue
            if desc.status != temporalio.client.WorkflowExecutionStatus.RUNNING:
                closed.append(run_id)
        return closed
