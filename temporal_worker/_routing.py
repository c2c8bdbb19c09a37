"""The routing core: one accepted event -> run starts (one per matching function) and wake-ups.

Used by the gateway (events from outside), by step activities (`step.send_event`) and by the run
workflow's end (Inngest's internal `inngest/function.*` events, e.g. what triggers `on_failure`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.service
import ulid

from . import _matching, _models
from ._flow_routing import SKIP_MEMO, FlowControl
from ._registry import Registry

logger = logging.getLogger(__name__)


_CONCURRENCY: Final = 16  # events of one request routed at once (those whose order cannot matter)
# A deliver_many signal carries events up to this many JSON bytes (Temporal refuses a payload over
# 2 MiB; one request may hold 3 MiB of events). A larger event goes alone, as a plain `deliver`.
_DELIVER_MANY_BYTES: Final = 512 * 1024


@dataclasses.dataclass
class _Routed:
    ordered: bool  # a target has flow control: routed alone, in order
    run: Callable[[], Awaitable[None]]


class RoutingError(Exception):
    """Routing some events failed; `ids` are those of the events that were routed (in order)."""

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


def normalize_event(event: dict[str, Any], *, internal_id: str, now_ms: int) -> dict[str, Any]:
    """The event as runs see it: data {} by default, ts = receive time when 0, id = user id or ours."""
    out = dict(event)
    out["data"] = dict(event.get("data") or {})
    out["id"] = event.get("id") or internal_id
    out["ts"] = int(event.get("ts") or now_ms)
    return out


class EventRouter:
    """Turns accepted events into Temporal workflow starts and pause-router signals."""

    def __init__(self, client: temporalio.client.Client, registry: Registry) -> None:
        self._client = client
        self._registry = registry
        self._flow = FlowControl(client)
        self._deliveries = _Deliveries(client)

    @property
    def registry(self) -> Registry:
        """The function registry this router matches events against."""
        return self._registry

    async def send(self, events: list[dict[str, Any]], *, ids: list[str] | None = None) -> list[str]:
        """Route each event; returns the internal ids (ULIDs), in request order: `ids` if given
        (one per event, e.g. from the request's event-id seed), else new ones.

        Events whose order cannot matter are routed concurrently, up to `_CONCURRENCY` at once:
        those whose functions have no flow control. An event that triggers a function with flow
        control (its decisions depend on arrival order, as in Inngest), or that repeats an earlier
        event's id (the first one wins), is routed alone, after every event before it. Each event
        name's events reach its pause router in request order.

        A request's events are received together, now: each gets this instant as its receive time
        (and as its `ts` if it has none), so a wait that begins after it never sees them, even one
        that registers while later events of the request are still being routed (Inngest's rule;
        it made a waiting run triggered by the same request take or miss them by timing).

        If routing one fails, no event after it is started; RoutingError carries the ids of the
        events before it (all routed), so a caller can tell what to re-send, and names any event
        after it that was already in flight and did start its runs.
        """
        received_ms = int(time.time() * 1000)
        functions = await self._registry.functions()
        if ids is None:
            ids = [str(ulid.ULID()) for _ in events]
        elif len(ids) != len(events):
            raise ValueError(f"{len(ids)} ids given for {len(events)} events")
        tasks: dict[int, asyncio.Task[None]] = {}
        pending: set[asyncio.Task[None]] = set()
        failures: list[int] = []  # indexes of the events whose routing failed
        gate = asyncio.Semaphore(_CONCURRENCY)
        seen_ids: set[str] = set()

        def done(index: int, task: asyncio.Task[None]) -> None:
            gate.release()
            pending.discard(task)
            if task.cancelled() or task.exception() is not None:
                failures.append(index)

        for index, event in enumerate(events):
            await gate.acquire()
            if failures:
                gate.release()
                break
            routed = self._route_one(event, ids[index], functions, received_ms)
            user_id = event.get("id") or ""
            alone = routed.ordered or (bool(user_id) and user_id in seen_ids)
            seen_ids.add(user_id)
            if alone:
                if pending:
                    await asyncio.wait(set(pending))
                if failures:
                    gate.release()
                    break
            tasks[index] = task = asyncio.create_task(routed.run())
            pending.add(task)
            task.add_done_callback(functools.partial(done, index))
            if alone:
                await asyncio.wait([task])
        if pending:
            await asyncio.wait(set(pending))
        if not failures:
            return ids
        first = min(failures)
        err = tasks[first].exception() if not tasks[first].cancelled() else asyncio.CancelledError()
        later = [f"event[{i}] {ids[i]}" for i in sorted(tasks) if i > first and i not in failures]
        also = f" (already in flight, routed too: {', '.join(later)})" if later else ""
        raise RoutingError(
            f"routing event[{first}] ({events[first].get('name')!r}) failed: "
            f"{type(err).__name__}: {err}{also}",
            ids[:first],
        ) from err

    def _route_one(
        self,
        event: dict[str, Any],
        internal_id: str,
        functions: list[_models.FunctionSpec],
        received_ms: int,
    ) -> _Routed:
        """Match one event received at `received_ms`; `run()` starts its runs and delivers it."""
        user_id = event.get("id") or ""
        normalized = normalize_event(event, internal_id=internal_id, now_ms=received_ms)
        targets = _matching.matching_functions(normalized, functions)

        async def run() -> None:
            # The starts' tasks are created first, so they run first: a run's start request
            # leaves before the event's signal to its pause router (0.4 ms sooner to Temporal).
            starts = [
                asyncio.ensure_future(self._start(fn, normalized, user_id, internal_id))
                for fn in targets
            ]
            # Queued for its pause router now, before any later event of the request.
            delivered = self._deliveries.put(normalized, received_ms=received_ms)
            results = await asyncio.gather(*starts, delivered, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            logger.debug(  # the gateway logs each request's events at INFO ("events accepted")
                "event routed",
                extra={
                    "event_name": normalized["name"],
                    "event_id": internal_id,
                    "functions": [fn.id for fn in targets],
                },
            )

        return _Routed(ordered=any(fn.flow_control for fn in targets), run=run)

    async def _start(
        self, fn: _models.FunctionSpec, event: dict[str, Any], user_id: str, internal_id: str
    ) -> None:
        run_id = _matching.run_id(fn.id, {**event, "id": user_id}, internal_id)
        if FlowControl.applies(fn):
            # batch -> rate limit -> debounce -> singleton, then this plain start (event-id dedup)
            await self._flow.start(
                fn, event, internal_id, run_id,
                lambda: self._plain_start(fn, event, internal_id, run_id),
                has_event_id=bool(user_id),
            )
            return
        await self._plain_start(fn, event, internal_id, run_id)

    async def _plain_start(
        self, fn: _models.FunctionSpec, event: dict[str, Any], internal_id: str, run_id: str
    ) -> None:
        # As on Inngest, an event whose ts is in the future starts its run at that time.
        delay_ms = int(event.get("ts") or 0) - int(time.time() * 1000)
        try:
            await self._client.start_workflow(
                fn.id,
                _models.RunInput(fn_id=fn.id, event=event, events=[]),  # [] means [event]
                id=run_id,
                start_delay=datetime.timedelta(milliseconds=delay_ms) if delay_ms > 0 else None,
                task_queue=fn.task_queue,
                id_reuse_policy=temporalio.common.WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=temporalio.common.WorkflowIDConflictPolicy.FAIL,
                search_attributes=_models.run_search_attributes(
                    fn.id, fn.app_id, event["name"], internal_id
                ),
                static_summary=f"{fn.name} <- {event['name']}",
            )
        except temporalio.exceptions.WorkflowAlreadyStartedError:
            # Same event id within retention, or a request re-sent with its event-id seed: Inngest
            # starts no second run.
            logger.info(
                "run exists already (repeated event id or re-sent request): no new run",
                extra={"fn_id": fn.id, "run_id": run_id, "event_id": internal_id},
            )

    async def start_invoked(
        self, fn: _models.FunctionSpec, event: dict[str, Any], run_id: str
    ) -> dict[str, Any]:
        """Start an invoked run through start-time flow control (rate limit, singleton, ...).

        Returns {"started": bool, "skip": the skip record's reason dict or None}. A debounced or
        batched invoke starts no run of this id (Inngest then fails the invoke at its timeout).
        """
        await self._flow.start(
            fn, event, run_id, run_id, lambda: self._plain_start(fn, event, run_id, run_id)
        )
        for _ in range(50):  # an entity may start the run a moment after answering
            try:
                await self._client.get_workflow_handle(run_id).describe()
                return {"started": True, "skip": None}
            except temporalio.service.RPCError as err:
                if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                    raise
            try:
                desc = await self._client.get_workflow_handle(f"{fn.id}:skipped:{run_id}").describe()
                return {"started": False, "skip": (await desc.memo()).get(SKIP_MEMO)}
            except temporalio.service.RPCError as err:
                if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.1)
        return {"started": False, "skip": None}


class _Deliveries:
    """Hands events to their name's pause router, in the order they are put, with at most one
    signal in flight per name: events put while one is in flight go together in the next
    (`deliver_many`, up to `_DELIVER_MANY_BYTES`). Idle, an event is signalled at once; under
    load, signals carry many."""

    def __init__(self, client: temporalio.client.Client) -> None:
        self._client = client
        self._queued: dict[str, list[_Queued]] = {}
        self._senders: set[asyncio.Task[None]] = set()

    def put(self, event: dict[str, Any], *, received_ms: int) -> asyncio.Future[None]:
        """Queue the event; the future is done once its router has it (or no router exists)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        name = event["name"]
        queue = self._queued.get(name)
        if queue is None:  # no signal in flight for this name: start a sender
            self._queued[name] = queue = []
            sender = asyncio.create_task(self._send(name), name=f"deliver {name}")
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        queue.append(_Queued({"event": event, "received_ms": received_ms}, done))
        return done

    async def _send(self, name: str) -> None:
        handle = self._client.get_workflow_handle(f"{_models.PAUSES_WORKFLOW_ID_PREFIX}{name}")
        try:
            while batch := _take(self._queued[name]):
                payloads = [queued.payload for queued in batch]
                try:
                    if len(payloads) == 1:
                        await handle.signal("deliver", payloads[0])
                    else:
                        await handle.signal(_models.DELIVER_MANY, payloads)
                except temporalio.service.RPCError as err:
                    # NOT_FOUND: no run waits for this event name (a router exists only then).
                    if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                        _settle(batch, err)
                        continue
                except BaseException as err:
                    _settle(batch, err)
                    raise
                _settle(batch, None)
        finally:
            _settle(self._queued.pop(name), asyncio.CancelledError())  # left only if cancelled


@dataclasses.dataclass
class _Queued:
    payload: dict[str, Any]  # {event, received_ms}
    done: asyncio.Future[None]

    @functools.cached_property
    def size(self) -> int:
        """The event's JSON bytes (measured only when several events wait for one signal)."""
        return len(json.dumps(self.payload["event"], separators=(",", ":"), ensure_ascii=False).encode())


def _take(queue: list[_Queued]) -> list[_Queued]:
    """Remove and return the queue's head: the events the next signal carries."""
    if len(queue) <= 1:
        batch = queue[:]
        queue.clear()
        return batch
    count, size = 0, 0
    while count < len(queue) and (count == 0 or size + queue[count].size <= _DELIVER_MANY_BYTES):
        size += queue[count].size
        count += 1
    batch = queue[:count]
    del queue[:count]
    return batch


def _settle(batch: list[_Queued], error: BaseException | None) -> None:
    for queued in batch:
        done = queued.done
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
