"""Replay one handler against a memo: Inngest's execution model as a pure function.

`execute(fn, request)` re-runs the handler from the top. Memoized steps return their output; the
targeted `step.run` (if any) is executed; the handler then keeps going ("lookahead") until it reaches
the next new step(s), which are reported, or returns, or raises. The caller (a Temporal activity)
turns the `Outcome` into Temporal commands. No I/O here beyond what the user's code does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from . import errors, models
from . import function as function_lib
from . import step as step_lib
from .context import Context, ContextSync


@dataclasses.dataclass
class Request:
    event: dict[str, Any]
    events: list[dict[str, Any]]
    run_id: str
    attempt: int
    memo: dict[str, Any]
    target: str | None = None  # hashed id of the step.run to execute, None for discovery
    final_attempt: bool = False  # the target's last attempt: memoize its error instead of retrying
    send_events: Callable[[list[dict[str, Any]]], Awaitable[list[str]]] | None = None


@dataclasses.dataclass
class Outcome:
    """What one replay produced.

    status: "planned" (new steps reached: `planned`), "done" (handler returned `value`), "error"
    (handler raised `error`, `retriable`, `retry_after_seconds`), or "step_failed" (the targeted
    step raised and must be retried: `error`, `retriable`, `retry_after_seconds`; nothing memoized).
    `target_output` is the memo entry written for the targeted step, if it ran to an output.
    """

    status: str
    planned: list[step_lib.Planned] = dataclasses.field(default_factory=list)
    value: Any = None
    error: dict[str, str] | None = None
    retriable: bool = True
    retry_after_seconds: float | None = None
    target_output: dict[str, Any] | None = None
    target_ran: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Field by field: the values are JSON already (normalized), no deep copy needed.
        return {
            "status": self.status,
            "planned": [p.to_dict() for p in self.planned],
            "value": self.value,
            "error": self.error,
            "retriable": self.retriable,
            "retry_after_seconds": self.retry_after_seconds,
            "target_output": self.target_output,
            "target_ran": self.target_ran,
        }


def _error_outcome(err: BaseException, status: str = "error") -> Outcome:
    retriable = not isinstance(err, (errors.NonRetriableError, errors.StepError))
    retry_after = err.delay_seconds() if isinstance(err, errors.RetryAfterError) else None
    return Outcome(
        status=status, error=errors.error_dict(err), retriable=retriable, retry_after_seconds=retry_after
    )


def _build_state(req: Request) -> step_lib.ReplayState:
    return step_lib.ReplayState(
        dict(req.memo), req.target, final_attempt=req.final_attempt, send_events=req.send_events
    )


def _events(req: Request) -> tuple[models.Event, list[models.Event]]:
    events = [models.Event.model_validate(e) for e in (req.events or [req.event])]
    return models.Event.model_validate(req.event), events


def _finish(state: step_lib.ReplayState, outcome: Outcome) -> Outcome:
    outcome.target_output = state.target_output
    outcome.target_ran = state.target_ran
    return outcome


def _outcome_of(state: step_lib.ReplayState, run: Callable[[], Any]) -> Outcome:
    """Shared tail of the sync and async paths: classify how the handler ended."""
    outcome: Outcome | None = None
    try:
        value = run()
    except step_lib.StepInterrupt as interrupt:
        outcome = Outcome(status="planned", planned=interrupt.planned)
    except step_lib.StopInterrupt:
        pass  # the targeted step failed: below
    except Exception as err:  # the handler's own error (outside the targeted step)
        outcome = _error_outcome(err)
    else:
        try:
            outcome = Outcome(status="done", value=step_lib.normalize(value, "function output"))
        except errors.NonRetriableError as err:
            outcome = _error_outcome(err)
    if state.target_failure is not None:
        # The targeted step failed and will be retried. Whatever the handler did while unwinding
        # (a `finally` that reaches another step, returns or raises) must not hide that failure.
        return _finish(state, _error_outcome(state.target_failure, status="step_failed"))
    assert outcome is not None, "StopInterrupt without a target failure"
    return _finish(state, outcome)


def _log_extra(fn: function_lib.Function[Any], req: Request) -> dict[str, Any]:
    return {"fn_id": fn.id, "run_id": req.run_id}


async def execute(fn: function_lib.Function[Any], req: Request) -> Outcome:
    """Replay `fn`'s handler once. Sync handlers run in a worker thread."""
    state = _build_state(req)
    event, events = _events(req)
    log = step_lib.ReplayLogger(fn.logger, state, _log_extra(fn, req))
    if fn.is_handler_async:
        ctx = Context(
            attempt=req.attempt,
            event=event,
            events=events,
            group=step_lib.Group(),
            job_id=None,
            logger=log,
            request_id=None,
            run_id=req.run_id,
            step=step_lib.Step(state, fn.app_id),
        )
        args: tuple[Any, ...] = (ctx, ctx.step) if fn.handler_takes_step else (ctx,)
        holder: dict[str, Any] = {}

        try:
            holder["value"] = await fn.handler(*args)
        except BaseException as err:  # classified below, synchronously
            holder["error"] = err

        def result() -> Any:
            if "error" in holder:
                raise holder["error"]
            return holder["value"]

        return _outcome_of(state, result)

    loop = asyncio.get_running_loop()
    sync_ctx = ContextSync(
        attempt=req.attempt,
        event=event,
        events=events,
        group=step_lib.GroupSync(),
        job_id=None,
        logger=log,
        request_id=None,
        run_id=req.run_id,
        step=step_lib.StepSync(state, fn.app_id, loop),
    )
    sync_args: tuple[Any, ...] = (
        (sync_ctx, sync_ctx.step) if fn.handler_takes_step else (sync_ctx,)
    )
    return await asyncio.to_thread(_outcome_of, state, lambda: fn.handler(*sync_args))
