"""Flow control inside a run (deterministic, used by the run workflow).

- concurrency: a slot per constraint from InngestConcurrency before each `step.run`, released after;
  sleeping, waiting or invoking holds no slot. Keys are evaluated once, when the run starts.
- priority: shifts the run's place in concurrency queues by its factor (seconds).
- throttle: the run waits for its admission time from InngestThrottle before its first step.
- cancel (cancel_on): pauses registered with the event's router when the run starts; a matching
  event cancels the run between steps (never its own trigger, never an event received before).
- timeouts: `start` (run creation to first step) and `finish` (first step to end) cancel the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from . import _expressions, _models
    from ._limits import SemaphoreState, ThrottleState

SIGNAL_WITH_START = "__signal_with_start"
CANCEL_RUN = "__cancel_run"  # a run asks Temporal to cancel itself (ends as Cancelled)
REGISTER_WAIT = "__register_wait"  # a run registers a pause (wait_for_event, cancel_on)
_LA_TIMEOUT = timedelta(minutes=1)
_YEAR_MS = 366 * 86400 * 1000
_LEASE_MS = 24 * 3600 * 1000  # a slot's lease; slots of runs found closed come back sooner
_PRIORITY_CLAMP = 43200  # Inngest's server clamps priority factors to +-12 h


def key_value(expression: str | None, event: dict[str, Any]) -> str:
    """Inngest's key string: the expression's value as text; missing fields and errors -> <nil>."""
    if not expression:
        return ""
    try:
        value = _expressions.compile_expression(expression, variables=("event",)).evaluate(
            {"event": event}
        )
    except _expressions.ExpressionError:
        return "<nil>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def priority_factor(expression: str | None, event: dict[str, Any]) -> int:
    if not expression:
        return 0
    try:
        value = _expressions.compile_expression(expression, variables=("event",)).evaluate(
            {"event": event}
        )
    except _expressions.ExpressionError:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        return 0  # Inngest: anything but an int is factor 0
    return max(-_PRIORITY_CLAMP, min(_PRIORITY_CLAMP, value))


class RunFlow:
    """The flow-control state of one run."""

    def __init__(
        self,
        *,
        flow: dict[str, Any],
        run_id: str,
        fn_id: str,
        event: dict[str, Any],
        started_ms: int,
        grants: dict[str, dict[str, Any]],
        run_cancelled: Callable[[], bool],
        carried: dict[str, Any] | None = None,
    ) -> None:
        self.flow = flow
        self.run_id = run_id
        self.fn_id = fn_id
        self.event = event
        self.started_ms = started_ms
        self.grants = grants  # filled by the run workflow's grant signal handler
        self._run_cancelled = run_cancelled  # a cancel_on event matched (run workflow's signal)
        self.cancel_reason: str | None = None
        self.first_step_started = False
        self.finish_deadline_ms: int | None = None
        if carried:
            self.started_ms = int(carried["started_ms"])
            self.first_step_started = bool(carried["first_step_started"])
            self.finish_deadline_ms = carried.get("finish_deadline_ms")
        factor = priority_factor((flow.get("priority") or {}).get("run"), event)
        self._order_ms = self.started_ms - factor * 1000
        self._semaphores = [
            (
                self._semaphore_id(c, key_value(c.get("key"), event)),
                int(c["limit"]),
            )
            for c in flow.get("concurrency") or []
            if int(c["limit"]) > 0  # limit 0 means unlimited
        ]

    def _semaphore_id(self, c: dict[str, Any], key: str) -> str:
        scope = c.get("scope") or "fn"
        owner = self.fn_id if scope == "fn" else scope
        return f"{_models.CONCURRENCY_WORKFLOW_ID_PREFIX}{owner}:{_short(key)}"

    # -- start: throttle, cancel pauses, timeouts ----------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self.cancel_reason is not None or self._run_cancelled()

    @property
    def throttled(self) -> bool:
        return bool(self.flow.get("throttle"))

    async def wait_for_throttle(self) -> None:
        t = self.flow["throttle"]
        key = key_value(t.get("key"), self.event)
        await self._signal_with_start(
            _models.THROTTLE_WORKFLOW,
            f"{_models.THROTTLE_WORKFLOW_ID_PREFIX}{self.fn_id}:{_short(key)}",
            ThrottleState(),
            "request",
            {
                "run_id": self.run_id,
                "limit": t["limit"],
                "period_ms": int(float(t["period_s"]) * 1000),
                "burst": t.get("burst") or 0,
            },
        )
        # A cancel (timeouts.start, cancel_on) ends the wait early: throttling never holds a
        # cancelled run back.
        await workflow.wait_condition(lambda: "throttle" in self.grants or self.cancelled)
        if self.cancelled:
            return
        wait_ms = int(self.grants["throttle"]["at_ms"]) - int(workflow.now().timestamp() * 1000)
        if wait_ms > 0:
            try:
                await workflow.wait_condition(
                    lambda: self.cancelled,
                    timeout=timedelta(milliseconds=wait_ms),
                    timeout_summary="throttle",
                )
            except asyncio.TimeoutError:
                pass

    async def register_cancel_pauses(self) -> None:
        for i, c in enumerate(self.flow.get("cancel") or []):
            expression = None
            if c.get("if_exp"):
                expression = _expressions.interpolate(c["if_exp"], "event", self.event)
            timeout_ms = int(float(c["timeout_s"]) * 1000) if c.get("timeout_s") else _YEAR_MS
            await workflow.execute_local_activity(
                REGISTER_WAIT,
                {
                    "event_name": c["event"],
                    "pause": {
                        "run_id": self.run_id,
                        "step": f"cancel:{i}",
                        "expression": expression,
                        "created_ms": self.started_ms,
                        "expires_ms": self.started_ms + timeout_ms,
                        "exclude_event_id": self.event.get("id"),
                    },
                },
                start_to_close_timeout=_LA_TIMEOUT,
                summary=f"cancel on {c['event']}",
            )

    async def unregister_cancel_pauses(self) -> None:
        """A finished run's cancel pauses go (else they would wait out their year in the router)."""
        for i, c in enumerate(self.flow.get("cancel") or []):
            router = workflow.get_external_workflow_handle(
                f"{_models.PAUSES_WORKFLOW_ID_PREFIX}{c['event']}"
            )
            try:
                await router.signal("unregister", {"run_id": self.run_id, "step": f"cancel:{i}"})
            except Exception as err:  # the router is gone: nothing is left to remove
                workflow.logger.debug("cancel pause already gone: %s", err)

    def arm_timeouts(self) -> None:
        """(Re)start the timers of timeouts.start / .finish (also after continue-as-new)."""
        timeouts = self.flow.get("timeouts") or {}
        if timeouts.get("start_s") and not self.first_step_started:
            deadline = self.started_ms + int(float(timeouts["start_s"]) * 1000)
            if deadline <= int(workflow.now().timestamp() * 1000):
                # Picked up after its deadline (no worker, backlog): cancelled before any step.
                self.cancel_reason = "timeouts.start: no step started in time"
            else:
                asyncio.create_task(self._timeout(deadline, "timeouts.start", "no step started in time"))
        if self.finish_deadline_ms is not None:
            asyncio.create_task(
                self._timeout(self.finish_deadline_ms, "timeouts.finish", "the run did not finish in time")
            )

    async def _timeout(self, deadline_ms: int, what: str, why: str) -> None:
        remaining = deadline_ms - int(workflow.now().timestamp() * 1000)
        if remaining > 0:
            await workflow.sleep(timedelta(milliseconds=remaining), summary=what)
        if what == "timeouts.start" and self.first_step_started:
            return
        if self.cancel_reason is None:
            self.cancel_reason = f"{what}: {why}"

    def first_step(self) -> None:
        """The first step starts: timeouts.start is met; timeouts.finish starts counting."""
        if self.first_step_started:
            return
        self.first_step_started = True
        finish = (self.flow.get("timeouts") or {}).get("finish_s")
        if finish:
            self.finish_deadline_ms = int(workflow.now().timestamp() * 1000) + int(float(finish) * 1000)
            asyncio.create_task(
                self._timeout(self.finish_deadline_ms, "timeouts.finish", "the run did not finish in time")
            )

    def state(self) -> dict[str, Any]:
        """What a continued-as-new run needs to carry on."""
        return {
            "started_ms": self.started_ms,
            "first_step_started": self.first_step_started,
            "finish_deadline_ms": self.finish_deadline_ms,
        }

    # -- concurrency ------------------------------------------------------------------------
    async def acquire(self, step: str) -> list[tuple[str, str]]:
        held: list[tuple[str, str]] = []
        for i, (semaphore, limit) in enumerate(sorted(self._semaphores)):
            slot = f"{step}:{i}"
            await self._signal_with_start(
                _models.CONCURRENCY_WORKFLOW,
                semaphore,
                SemaphoreState(),
                "acquire",
                {
                    "run_id": self.run_id,
                    "slot": slot,
                    "limit": limit,
                    "order_ms": self._order_ms,
                    "lease_ms": _LEASE_MS,
                },
            )
            held.append((semaphore, slot))
            try:
                await workflow.wait_condition(lambda slot=slot: slot in self.grants)
            except BaseException:
                await self.release(held)
                raise
        return held

    async def release(self, held: list[tuple[str, str]]) -> None:
        for semaphore, slot in held:
            self.grants.pop(slot, None)
            try:
                await workflow.get_external_workflow_handle(semaphore).signal(
                    "release", {"run_id": self.run_id, "slot": slot}
                )
            except Exception as err:  # the semaphore frees it by lease or liveness check
                workflow.logger.warning("releasing a concurrency slot failed: %s", err)

    async def _signal_with_start(
        self, workflow_type: str, workflow_id: str, state: Any, signal: str, payload: dict[str, Any]
    ) -> None:
        await workflow.execute_local_activity(
            SIGNAL_WITH_START,
            {"workflow": workflow_type, "id": workflow_id, "state": state, "signal": signal, "payload": payload},
            start_to_close_timeout=_LA_TIMEOUT,
            summary=f"{signal} {workflow_type}",
        )
