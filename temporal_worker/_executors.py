"""Step executors: how a worker replays a function's handler for one step activity.

The run workflow and the step activities do not care where user code lives. An executor takes a
replay request (the event, the full memo, the targeted step) and returns an outcome dict:

    {"status": "planned" | "done" | "error" | "step_failed" | "needs_activity" (retry outside a local activity),
     "planned": [{"kind": "run" | "sleep" | "wait_for_event" | "invoke", "id", "hashed", "name",
                  "opts": {...}, "parallel_mode": None | "wait" | "race"}],
     "value": <return value when done>,
     "error": {"name", "message", "stack"} | None, "retriable": bool, "retry_after_seconds": float | None,
     "target_output": {"data": ...} | {"error": {...}} | None, "target_ran": bool}

`CompatExecutor` runs functions written with `compat` in this process; `HttpExecutor`
(`_http_executor`) calls stock Inngest SDK apps over HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from compat._internal import engine
from compat._internal.errors import NonRetriableError
from compat._internal.function import Function

from ._matching import sent_event_name_problem


@dataclasses.dataclass
class ReplayRequest:
    fn_id: str
    run_id: str
    event: dict[str, Any]
    events: list[dict[str, Any]]
    memo: dict[str, Any]  # always the full memo
    target: str | None  # hashed id of the step.run to execute; None: discover only
    attempt: int
    final_attempt: bool
    inline: bool = False  # a discovery may run the next step in it (see StepInput.inline)
    local: bool = False  # replayed in a local activity (which holds the run's workflow task)


@dataclasses.dataclass(frozen=True)
class FunctionConfig:
    retries: int
    flow_control: dict[str, Any] = dataclasses.field(default_factory=dict)
    local_steps: bool = False  # compat.temporal_options(local_steps=True)
    inline_steps: bool = False  # SDK apps: lone steps run inside discovery calls, as on Inngest


class StepExecutor(Protocol):
    def function_ids(self) -> list[str]: ...

    async def prepare(self, fn_id: str) -> None:
        """Called before `config`/`replay` for `fn_id`: load what they need (may be a no-op)."""

    def config(self, fn_id: str) -> FunctionConfig | None:
        """None when this executor does not serve `fn_id`."""

    async def replay(self, request: ReplayRequest) -> dict[str, Any]: ...


class CompatExecutor:
    """Functions defined with `compat`, replayed in-process by compat's step engine."""

    def __init__(
        self,
        functions: dict[str, Function[Any]],
        send_events: Callable[[list[dict[str, Any]]], Awaitable[list[str]]],
    ) -> None:
        self._functions = functions
        self._send_events = _checked_sender(send_events)

    def function_ids(self) -> list[str]:
        return sorted(self._functions)

    async def prepare(self, fn_id: str) -> None:
        return None  # every function is loaded at start

    def config(self, fn_id: str) -> FunctionConfig | None:
        fn = self._functions.get(fn_id)
        if fn is None:
            return None
        return FunctionConfig(
            retries=fn.retries,
            flow_control=fn.flow_control,
            local_steps=bool(fn.temporal_options.get("local_steps")),
        )

    async def replay(self, request: ReplayRequest) -> dict[str, Any]:
        fn = self._functions[request.fn_id]
        outcome = await engine.execute(
            fn,
            engine.Request(
                event=request.event,
                events=request.events,
                run_id=request.run_id,
                attempt=request.attempt,
                memo=request.memo,
                target=request.target,
                final_attempt=request.final_attempt,
                send_events=self._send_events,
            ),
        )
        return outcome.to_dict()


def _checked_sender(
    send: Callable[[list[dict[str, Any]]], Awaitable[list[str]]],
) -> Callable[[list[dict[str, Any]]], Awaitable[list[str]]]:
    """`step.send_event` goes to the routing core in this process, not through the event API:
    it gets the API's name rule here (an empty name started nothing, and an
    `inngest/function.failed` ran another function's on_failure handler)."""

    async def send_user_events(events: list[dict[str, Any]]) -> list[str]:
        for index, event in enumerate(events):
            name = event.get("name")
            problem = (
                sent_event_name_problem(name) if isinstance(name, str)
                else f"must be a string, got {type(name).__name__}"
            )
            if problem is not None:  # the same every time: no retries
                raise NonRetriableError(f"send_event: event[{index}].name {problem}")
        return await send(events)

    return send_user_events
