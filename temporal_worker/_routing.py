"""The routing core: one accepted event -> run starts (one per matching function) and wake-ups.

Used by the gateway (events from outside), by step activities (`step.send_event`) and by the run
workflow's end (Inngest's internal `inngest/function.*` events, e.g. what triggers `on_failure`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from typing import Any

import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.service
import ulid

from . import _matching, _models
from ._flow_routing import SKIP_MEMO, FlowControl
from ._registry import Registry

logger = logging.getLogger(__name__)


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

    @property
    def registry(self) -> Registry:
        """The function registry this router matches events against."""
        return self._registry

    async def send(self, events: list[dict[str, Any]]) -> list[str]:
        """Route each event, in order (flow-control decisions depend on arrival order, as in
        Inngest); returns the internal ids (ULIDs). If routing one fails, RoutingError carries the
        ids of the events routed before it, so a caller can tell what to re-send."""
        functions = await self._registry.functions()
        ids: list[str] = []
        for index, event in enumerate(events):
            internal_id = str(ulid.ULID())
            try:
                await self._route_one(event, internal_id, functions)
            except Exception as err:
                raise RoutingError(
                    f"routing event[{index}] ({event.get('name')!r}) failed: {type(err).__name__}: {err}",
                    ids,
                ) from err
            ids.append(internal_id)
        return ids

    async def _route_one(
        self, event: dict[str, Any], internal_id: str, functions: list[_models.FunctionSpec]
    ) -> None:
        now_ms = int(time.time() * 1000)
        user_id = event.get("id") or ""
        normalized = normalize_event(event, internal_id=internal_id, now_ms=now_ms)
        targets = _matching.matching_functions(normalized, functions)
        await asyncio.gather(
            *(self._start(fn, normalized, user_id, internal_id) for fn in targets),
            self._deliver(normalized, received_ms=now_ms),
        )
        logger.info(
            "event routed",
            extra={
                "event_name": normalized["name"],
                "event_id": internal_id,
                "functions": [fn.id for fn in targets],
            },
        )

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
            # Same event id within retention: Inngest starts no second run.
            logger.info(
                "duplicate event id: no new run",
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

    async def _deliver(self, event: dict[str, Any], *, received_ms: int) -> None:
        """Hand the event to the runs waiting for its name, if any wait."""
        handle = self._client.get_workflow_handle(
            f"{_models.PAUSES_WORKFLOW_ID_PREFIX}{event['name']}"
        )
        try:
            await handle.signal("deliver", {"event": event, "received_ms": received_ms})
        except temporalio.service.RPCError as err:
            if err.status != temporalio.service.RPCStatusCode.NOT_FOUND:
                raise
            # No run waits for this event name (the router exists only while runs wait).
