"""Runs read from Temporal: one run is one workflow execution whose workflow id is the run id.

A workflow is a run when it carries the `InngestFunctionId` search attribute (the run workflow sets
it at start); other workflows (app registry, pause routers, flow control entities) are not visible
through the run API.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any, Final

import temporal_worker
import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.service

from . import _errors, _schemas

logger = logging.getLogger(__name__)

SA_FUNCTION_ID: Final = temporal_worker.SA_FUNCTION_ID
SA_EVENT_ID: Final = temporal_worker.SA_EVENT_ID
SKIP_MEMO: Final = temporal_worker.SKIP_MEMO

RPC_TIMEOUT: Final = datetime.timedelta(seconds=10)
MAX_RUNS_PER_EVENT: Final = 1000

_Status = temporalio.client.WorkflowExecutionStatus
_STATUS: Final[dict[_Status, _schemas.RunStatus]] = {
    _Status.RUNNING: "Running",
    _Status.CONTINUED_AS_NEW: "Running",
    _Status.COMPLETED: "Completed",
    _Status.FAILED: "Failed",
    _Status.TERMINATED: "Failed",
    _Status.TIMED_OUT: "Failed",
    _Status.CANCELED: "Cancelled",
}

_Execution = temporalio.client.WorkflowExecution


def run_status(status: _Status | None) -> _schemas.RunStatus:
    """Inngest's run status for a Temporal execution status (unknown -> Running)."""
    if status is None:
        return "Running"
    return _STATUS.get(status, "Running")


def status_of(execution: _Execution) -> _schemas.RunStatus:
    """The run's Inngest status; a run whose start is delayed (an event with a future `ts`) is
    Scheduled until its time comes (Temporal lists it as Running from the start request on)."""
    status = run_status(execution.status)
    due = execution.execution_time
    if status == "Running" and due is not None and due > datetime.datetime.now(datetime.UTC):
        return "Scheduled"
    return status


def _started_at(execution: _Execution) -> datetime.datetime:
    """A delayed start (an event's future ts) starts at its execution time, not at the request;
    one cancelled before that time never started: its start is its end."""
    started = max(execution.start_time, execution.execution_time or execution.start_time)
    if execution.close_time is not None:
        started = min(started, execution.close_time)
    return started


def visibility_literal(value: str) -> str:
    """Quote a string for a Temporal visibility query."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def error_output(err: BaseException) -> dict[str, Any]:
    """The run output for a failed run, from the error `handle.result()` raised: the function's
    error body as the SDK or compat reported it (an SDK's `code`, a `stack` it left null), or a
    {name, message, stack} made from Temporal's failure (timeouts, terminations)."""
    cause = err.cause if isinstance(err, temporalio.client.WorkflowFailureError) else err
    if isinstance(cause, temporalio.exceptions.ApplicationError) and cause.details:
        detail = cause.details[0]
        if isinstance(detail, dict) and "message" in detail:
            # "error" (a string) is the summary the failure event carries, not the body's.
            return {k: v for k, v in detail.items() if not (k == "error" and isinstance(v, str))}
    return _failure_summary(cause).model_dump()


def _failure_summary(cause: BaseException) -> _schemas.RunError:
    if isinstance(cause, temporalio.exceptions.ApplicationError):
        name = cause.type or "Error"
    elif isinstance(cause, temporalio.exceptions.TimeoutError):
        name = "FunctionTimedOut"
    elif isinstance(cause, temporalio.exceptions.TerminatedError):
        name = "FunctionTerminated"
    else:
        name = type(cause).__name__
    message = cause.message if isinstance(cause, temporalio.exceptions.FailureError) else str(cause)
    stack = ""
    if isinstance(cause, temporalio.exceptions.FailureError) and cause.failure is not None:
        stack = cause.failure.stack_trace
    return _schemas.RunError(name=name, message=message, stack=stack)


def _is_run(execution: _Execution) -> bool:
    return execution.typed_search_attributes.get(SA_FUNCTION_ID) is not None


async def _output(client: temporalio.client.Client, execution: _Execution) -> Any:
    status = run_status(execution.status)
    if status not in ("Completed", "Failed"):
        return None
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    try:
        result = await handle.result(follow_runs=False, rpc_timeout=RPC_TIMEOUT)
    except temporalio.client.WorkflowFailureError as err:
        return error_output(err)
    except temporalio.service.RPCError as err:
        raise _errors.from_rpc_error(err, f"reading the output of run {execution.id}") from err
    return result if status == "Completed" else None


async def _skip(execution: _Execution) -> _schemas.RunSkip | None:
    """The flow-control skip a record execution carries in its memo (None for real runs)."""
    if not execution.raw_info.memo.fields.get(SKIP_MEMO):
        return None
    raw = (await execution.memo()).get(SKIP_MEMO)
    if not isinstance(raw, dict):
        return None
    return _schemas.RunSkip(
        reason=str(raw.get("reason")), message=str(raw.get("message")), run_id=raw.get("run_id")
    )


async def to_run(client: temporalio.client.Client, execution: _Execution) -> _schemas.Run:
    """The Inngest run object for a workflow execution (fetches the output of ended runs)."""
    skip = await _skip(execution)
    if skip is not None:
        return _schemas.Run(
            run_id=execution.id,
            run_started_at=execution.start_time,
            function_id=execution.workflow_type,
            event_id=execution.typed_search_attributes.get(SA_EVENT_ID),
            status="Skipped",
            ended_at=execution.close_time or execution.start_time,
            skip=skip,
        )
    return _schemas.Run(
        run_id=execution.id,
        run_started_at=_started_at(execution),
        function_id=execution.workflow_type,
        event_id=execution.typed_search_attributes.get(SA_EVENT_ID),
        status=status_of(execution),
        ended_at=execution.close_time,
        output=await _output(client, execution),
    )


async def _describe(client: temporalio.client.Client, run_id: str) -> _Execution:
    handle = client.get_workflow_handle(run_id)
    try:
        execution = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except temporalio.service.RPCError as err:
        if err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            raise _errors.RunNotFoundError(run_id) from None
        raise _errors.from_rpc_error(err, f"describing run {run_id}") from err
    if not _is_run(execution):
        raise _errors.RunNotFoundError(run_id)
    return execution


async def get_run(client: temporalio.client.Client, run_id: str) -> _schemas.Run:
    """The run with this id; `RunNotFoundError` when there is none."""
    return await to_run(client, await _describe(client, run_id))


async def cancel_run(client: temporalio.client.Client, run_id: str) -> _schemas.Run:
    """Request cancellation of a running run; return it as it is now."""
    execution = await _describe(client, run_id)
    status = status_of(execution)
    if await _skip(execution) is not None:
        status = "Skipped"
    if status not in ("Running", "Scheduled"):
        raise _errors.RunFinishedError(run_id, status)
    handle = client.get_workflow_handle(run_id, run_id=execution.run_id)
    try:
        await handle.cancel(reason="cancelled through DELETE /v1/runs", rpc_timeout=RPC_TIMEOUT)
    except temporalio.service.RPCError as err:
        if err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            # The execution closed between describe and cancel.
            return await get_run(client, run_id)
        raise _errors.from_rpc_error(err, f"cancelling run {run_id}") from err
    logger.info("run cancellation requested", extra={"run_id": run_id})
    return await to_run(client, execution)


async def list_event_runs(client: temporalio.client.Client, event_id: str) -> list[_schemas.Run]:
    """The runs started by the event with this internal id, oldest first."""
    query = f"{SA_EVENT_ID.name} = {visibility_literal(event_id)}"
    latest: dict[str, _Execution] = {}
    try:
        async for execution in client.list_workflows(
            query, limit=MAX_RUNS_PER_EVENT, rpc_timeout=RPC_TIMEOUT
        ):
            if not _is_run(execution):
                continue
            # A run that continued as new has one execution per chain link: keep the newest.
            known = latest.get(execution.id)
            if known is None or known.start_time <= execution.start_time:
                latest[execution.id] = execution
    except temporalio.service.RPCError as err:
        raise _errors.from_rpc_error(err, f"listing the runs of event {event_id}") from err
    executions = sorted(latest.values(), key=lambda execution: (execution.start_time, execution.id))
    return list(await asyncio.gather(*(to_run(client, execution) for execution in executions)))
