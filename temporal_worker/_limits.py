"""Entity workflows for the flow control that acts inside runs (deterministic; no I/O).

InngestConcurrency (id `inngest-concurrency:<scope key>`): a semaphore over *executing steps*. A run
asks for a slot before each `step.run` (signal-with-start `acquire`), gets `inngest_grant`, and
signals `release` after. Each request carries its own function's limit, checked against the shared
count (Inngest's rule for env/account scopes). Waiters are served in order of their run's start
time shifted by its priority factor (FIFO per key, best effort). A slot held by a run that ended
without releasing it (terminated, reset) is freed when its lease ends or when a liveness check
finds the run closed, so a crash cannot leak a slot.

InngestThrottle (id `inngest-throttle:<fn>:<key>`): GCRA that delays run starts, never drops:
emission interval T = period/limit, capacity limit+burst at an idle moment. Each request gets an
admission time in arrival order (FIFO); the run sleeps until then.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from . import _models

CLOSED_RUNS = "__closed_runs"  # activity on the system worker: which of these runs are closed
_CHECK_EVERY = timedelta(seconds=30)
_LINGER = timedelta(seconds=60)  # an idle semaphore waits this long for the next request
_CONTINUE_AS_NEW_AFTER = 2000  # signals handled per run of an entity


def _now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


@dataclasses.dataclass
class SemaphoreState:
    holders: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    waiters: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@workflow.defn(name=_models.CONCURRENCY_WORKFLOW)
class SemaphoreWorkflow:
    @workflow.init
    def __init__(self, state: SemaphoreState) -> None:
        self._holders = dict(state.holders)
        self._waiters = list(state.waiters)
        self._signals = 0
        self._dirty = True

    @workflow.signal(name="acquire")
    def acquire(self, req: dict[str, Any]) -> None:
        """req: {run_id, slot, limit, order_ms, lease_ms}. Idempotent per (run_id, slot)."""
        self._signals += 1
        key = f"{req['run_id']}/{req['slot']}"
        if key in self._holders:
            self._holders[key]["regrant"] = True
        elif all(f"{w['run_id']}/{w['slot']}" != key for w in self._waiters):
            self._waiters.append(dict(req))
        self._dirty = True

    @workflow.signal(name="release")
    def release(self, req: dict[str, Any]) -> None:
        self._signals += 1
        key = f"{req['run_id']}/{req['slot']}"
        self._holders.pop(key, None)
        self._waiters = [w for w in self._waiters if f"{w['run_id']}/{w['slot']}" != key]
        self._dirty = True

    @workflow.query(name="state")
    def state(self) -> dict[str, Any]:
        return {"holders": sorted(self._holders), "waiting": [f"{w['run_id']}/{w['slot']}" for w in self._waiters]}

    @workflow.run
    async def run(self, state: SemaphoreState) -> None:
        last_check = _now_ms()
        while True:
            self._expire()
            await self._grant()
            if not self._holders and not self._waiters:
                # Linger while idle: a run's next step usually asks again within moments, and
                # starting a new semaphore for every step costs more than a timer.
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._holders or self._waiters), timeout=_LINGER
                    )
                    continue
                except TimeoutError:
                    pass
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._holders and not self._waiters:
                    return
                continue
            if self._signals >= _CONTINUE_AS_NEW_AFTER or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(SemaphoreState(self._holders, self._waiters))
            if self._waiters and _now_ms() - last_check >= _CHECK_EVERY.total_seconds() * 1000:
                last_check = _now_ms()
                await self._free_closed_runs()
                continue
            self._dirty = False
            try:
                await workflow.wait_condition(lambda: self._dirty, timeout=_CHECK_EVERY)
            except TimeoutError:
                pass

    def _expire(self) -> None:
        now = _now_ms()
        for key in [k for k, h in self._holders.items() if h["expires_ms"] <= now]:
            del self._holders[key]

    async def _free_closed_runs(self) -> None:
        """Slots of runs that ended without releasing them (terminated, reset) come back."""
        runs = sorted({h["run_id"] for h in self._holders.values()})
        if not runs:
            return
        closed: list[str] = await workflow.execute_activity(
            CLOSED_RUNS, runs, start_to_close_timeout=timedelta(seconds=30)
        )
        for key in [k for k, h in self._holders.items() if h["run_id"] in set(closed)]:
            del self._holders[key]

    async def _grant(self) -> None:
        grants = []
        for key, holder in self._holders.items():
            if holder.pop("regrant", False):
                grants.append((holder["run_id"], holder["slot"]))
        remaining = []
        for w in sorted(self._waiters, key=lambda w: (w["order_ms"], w["run_id"], w["slot"])):
            if len(self._holders) < int(w["limit"]):
                key = f"{w['run_id']}/{w['slot']}"
                self._holders[key] = {
                    "run_id": w["run_id"],
                    "slot": w["slot"],
                    "expires_ms": _now_ms() + int(w["lease_ms"]),
                }
                grants.append((w["run_id"], w["slot"]))
            else:
                remaining.append(w)
        self._waiters = remaining
        for run_id, slot in grants:
            try:
                await workflow.get_external_workflow_handle(run_id).signal(
                    _models.SIGNAL_GRANT, {"slot": slot}
                )
            except Exception as err:  # the run is gone: its slot comes back
                workflow.logger.info("granted run is gone: %s", err)
                self._holders.pop(f"{run_id}/{slot}", None)
                self._dirty = True


@dataclasses.dataclass
class ThrottleState:
    tat_ms: int = 0


@workflow.defn(name=_models.THROTTLE_WORKFLOW)
class ThrottleWorkflow:
    @workflow.init
    def __init__(self, state: ThrottleState) -> None:
        self._tat = state.tat_ms
        self._pending: list[dict[str, Any]] = []
        self._signals = 0

    @workflow.signal(name="request")
    def request(self, req: dict[str, Any]) -> None:
        """req: {run_id, limit, period_ms, burst}: answered with the run's admission time."""
        self._signals += 1
        now = _now_ms()
        interval = max(int(req["period_ms"]) // max(int(req["limit"]), 1), 1)
        capacity = max(int(req["limit"]) + int(req.get("burst") or 0), 1)
        tat = max(self._tat, now)
        admit = max(now, tat - (capacity - 1) * interval)
        self._tat = max(tat, admit) + interval
        self._pending.append({"run_id": req["run_id"], "at_ms": admit})

    @workflow.run
    async def run(self, state: ThrottleState) -> None:
        while True:
            while self._pending:
                item = self._pending.pop(0)
                try:
                    await workflow.get_external_workflow_handle(item["run_id"]).signal(
                        _models.SIGNAL_GRANT, {"slot": "throttle", "at_ms": item["at_ms"]}
                    )
                except Exception as err:
                    workflow.logger.info("throttled run is gone: %s", err)
            if self._signals >= _CONTINUE_AS_NEW_AFTER or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(ThrottleState(self._tat))
            idle_ms = self._tat - _now_ms()
            if idle_ms <= 0:  # the bucket is full again: nothing to remember
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._pending and self._tat <= _now_ms():
                    return
                continue
            try:
                await workflow.wait_condition(
                    lambda: bool(self._pending), timeout=timedelta(milliseconds=idle_ms)
                )
            except TimeoutError:
                pass
