"""Options that exist only because functions run on Temporal (not part of the inngest API)."""

from __future__ import annotations

from typing import Any, TypeVar

from . import function as function_lib

F = TypeVar("F", bound=function_lib.Function[Any])


def temporal_options(*, local_steps: bool = False) -> Any:
    """Decorate a function made by `create_function` (put it above the create_function line).

    local_steps: run this function's `step.run` bodies as Temporal *local* activities: much lower
    latency per step (no task-queue round trip, fewer history events) at the cost of per-step
    visibility in the Temporal UI (steps show as markers, not activities) and of running each step
    on the worker that runs the workflow task. Use it for short, idempotent steps.
    """

    def apply(fn: F) -> F:
        if not isinstance(fn, function_lib.Function):
            raise TypeError(
                "temporal_options(...) decorates the result of client.create_function(...): put it "
                f"above the @client.create_function line (got {type(fn).__name__})"
            )
        fn.set_temporal_options({"local_steps": bool(local_steps)})
        return fn

    return apply
