"""Workflows of our own (deterministic): the app registry and the pause router.

InngestApp (id `inngest-app:<app_id>`): holds an app's synced function set in its memo.
InngestPauses (id `inngest-pauses:<event name>`): exists while runs wait for that event name. Runs
register a pause (signal-with-start `register`) before they wait; every accepted event with that
name is signalled here (`deliver`, or `deliver_many` for several at once, in order); the runs an
event resumes are signalled from a local activity. Matching happens synchronously in the signal
handler, so the order of this workflow's history decides: an event delivered after a registration
reaches it; an event received before the pause was created never matches it (Inngest's rule).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from . import _expressions, _models
    from ._pause_index import PauseIndex

CONTINUE_AS_NEW_AFTER = 500  # delivered events per run of the pause router
# ... or history events. A continue-as-new that signals race fails its workflow task once, and the
# retry replays the whole history (about 0.25 ms per event): a short history keeps that stall short.
CONTINUE_AS_NEW_AFTER_EVENTS = 1000
_WAKE_FROM_ACTIVITY = "wake-runs-from-local-activity"  # patch id: wake-ups were external signals
_EXPIRY_TIMER_KEPT = "expiry-timer-kept"  # patch id: the expiry timer was restarted on every change
_WAKE_TIMEOUT = timedelta(minutes=1)
_WAKE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30), maximum_attempts=12
)


@workflow.defn(name=_models.APP_WORKFLOW)
class AppWorkflow:
    def __init__(self) -> None:
        self._app: dict[str, Any] | None = None

    @workflow.run
    async def run(self, app: dict[str, Any]) -> None:
        if self._app is None:
            self._app = app
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._app)

    @workflow.update(name="set_app")
    def set_app(self, app: dict[str, Any]) -> int:
        self._app = app
        workflow.upsert_memo({"app": app})
        return len(app.get("functions", []))

    @workflow.query(name="app")
    def app(self) -> dict[str, Any] | None:
        return self._app


@dataclasses.dataclass
class PausesState:
    pauses: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@workflow.defn(name=_models.PAUSES_WORKFLOW)
class PausesWorkflow:
    """The pause router of one event name."""

    @workflow.init
    def __init__(self, state: PausesState) -> None:
        # Loaded here, not in run(): with signal-with-start the signal handler runs before run().
        self._pauses: dict[str, dict[str, Any]] = {}
        self._index = PauseIndex()
        for p in state.pauses:
            self._add(p)
        self._delivered = 0

    def _add(self, pause: dict[str, Any]) -> None:
        key = f"{pause['run_id']}/{pause['step']}"
        if key not in self._pauses:
            self._pauses[key] = pause
            self._index.add(key, pause.get("expression"))

    def _remove(self, key: str) -> None:
        if self._pauses.pop(key, None) is not None:
            self._index.remove(key)

    @workflow.run
    async def run(self, state: PausesState) -> None:
        if not workflow.patched(_EXPIRY_TIMER_KEPT):
            return await self._run_restarting_timer()
        # One expiry timer, replaced only when a pause expires sooner than it fires: restarting it
        # on every register and deliver cost two history events and two timer operations each.
        timer: asyncio.Task[None] | None = None
        timer_at = 0
        while True:
            if await self._closing(CONTINUE_AS_NEW_AFTER_EVENTS):
                return
            soonest = self._soonest_ms()
            if timer is None or timer.done() or soonest < timer_at:
                if timer is not None and not timer.done():
                    timer.cancel()
                delay_ms = max(soonest - self._now_ms(), 1000)
                timer_at = self._now_ms() + delay_ms
                timer = asyncio.create_task(asyncio.sleep(delay_ms / 1000))
            count, delivered, fired = len(self._pauses), self._delivered, timer
            await workflow.wait_condition(
                lambda: len(self._pauses) != count or self._delivered != delivered or fired.done()
            )

    async def _closing(self, max_events: int | None = None) -> bool:
        """Drop expired pauses; True once none is left, continue-as-new when history is long."""
        self._expire()
        if not self._pauses:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._pauses:
                return True
        info = workflow.info()
        if (
            self._delivered >= CONTINUE_AS_NEW_AFTER
            or info.is_continue_as_new_suggested()
            or (max_events is not None and info.get_current_history_length() >= max_events)
        ):
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(PausesState(list(self._pauses.values())))
        return False

    async def _run_restarting_timer(self) -> None:
        """The loop histories recorded before `_EXPIRY_TIMER_KEPT` replay: a new expiry timer on
        every change."""
        while True:
            if await self._closing():
                return
            count, delivered = len(self._pauses), self._delivered
            try:
                await workflow.wait_condition(
                    lambda: len(self._pauses) != count or self._delivered != delivered,
                    timeout=self._next_expiry(),
                )
            except TimeoutError:
                pass

    def _now_ms(self) -> int:
        return int(workflow.now().timestamp() * 1000)

    def _expire(self) -> None:
        now = self._now_ms()
        for key in [k for k, p in self._pauses.items() if p["expires_ms"] <= now]:
            self._remove(key)

    def _soonest_ms(self) -> int:
        return min(p["expires_ms"] for p in self._pauses.values())

    def _next_expiry(self) -> timedelta | None:
        if not self._pauses:
            return None
        return timedelta(milliseconds=max(self._soonest_ms() - self._now_ms(), 1000))

    @workflow.query(name="pauses")
    def pauses(self) -> list[str]:
        """The keys (`<run id>/<step>`) of the pauses this router holds."""
        return sorted(self._pauses)

    @workflow.signal(name="register")
    def register(self, pause: dict[str, Any]) -> None:
        """pause: {run_id, step, expression (event.* already filled in) | None, created_ms, expires_ms}."""
        self._add(pause)

    @workflow.signal(name="unregister")
    def unregister(self, pause: dict[str, Any]) -> None:
        self._remove(f"{pause['run_id']}/{pause['step']}")

    @workflow.signal(name="deliver")
    async def deliver(self, payload: dict[str, Any]) -> None:
        """payload: {event, received_ms}."""
        await self._wake([(payload["event"], self._match(payload))])

    @workflow.signal(name=_models.DELIVER_MANY)
    async def deliver_many(self, payloads: list[dict[str, Any]]) -> None:
        """Several `deliver` payloads at once, matched in their order (one signal instead of many
        when events of this name arrive faster than signals return)."""
        await self._wake([(payload["event"], self._match(payload)) for payload in payloads])

    def _match(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The pauses this event resumes, taken out of the router before any await: the order of
        this workflow's history decides matching."""
        event, received_ms = payload["event"], payload["received_ms"]
        self._delivered += 1
        matched = []
        candidates = self._index.candidates(event)  # only pauses this event can match
        for key, pause in list(self._pauses.items()):
            if key not in candidates:
                continue
            if received_ms < pause["created_ms"] or pause["expires_ms"] <= received_ms:
                continue
            if pause.get("exclude_event_id") and event.get("id") == pause["exclude_event_id"]:
                continue  # a run's own trigger event never cancels it
            expression = pause.get("expression")
            if expression:
                try:
                    ok = _expressions.compile_expression(
                        expression, variables=("async", "event")
                    ).matches({"async": event, "event": pause.get("trigger_event") or {}})
                except _expressions.ExpressionError as err:
                    workflow.logger.warning(
                        "wait expression failed: %s", err, extra={"run_id": pause["run_id"]}
                    )
                    ok = False
                if not ok:
                    continue
            self._remove(key)
            matched.append(pause)
        return matched

    async def _wake(self, woken: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Signal the runs each (event, matched pauses) resumes."""
        wakes = [
            {"event": event, "runs": [{"run_id": p["run_id"], "step": p["step"]} for p in matched]}
            for event, matched in woken
            if matched
        ]
        if not wakes:
            return
        if workflow.patched(_WAKE_FROM_ACTIVITY):
            # The runs are signalled from a local activity: no command, no history event and no
            # extra workflow task per woken run here (external signals made this one workflow
            # the bottleneck of bulk wake-ups).
            count = sum(len(w["runs"]) for w in wakes)
            try:
                await workflow.execute_local_activity(
                    _models.WAKE_RUNS,
                    wakes,
                    start_to_close_timeout=_WAKE_TIMEOUT,
                    retry_policy=_WAKE_RETRY,
                    summary=f"wake {count} run(s)",
                )
            except ActivityError as err:  # Temporal refused the signals for minutes
                workflow.logger.error(
                    "could not wake runs: %s",
                    err,
                    extra={"run_ids": [r["run_id"] for w in wakes for r in w["runs"]]},
                )
            return
        for wake in wakes:  # histories recorded before the local activity
            for run in wake["runs"]:
                handle = workflow.get_external_workflow_handle(run["run_id"])
                try:
                    await handle.signal(
                        _models.SIGNAL_EVENT, {"step": run["step"], "event": wake["event"]}
                    )
                except Exception as err:  # the run is gone (finished, cancelled): nothing to wake
                    workflow.logger.info(
                        "waiting run is gone: %s", err, extra={"run_id": run["run_id"]}
                    )
