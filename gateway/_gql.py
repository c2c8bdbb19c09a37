"""`POST /v0/gql`: the few GraphQL queries the Inngest SDKs' test harnesses ask, from Temporal.

Not a GraphQL server: each root field the harnesses use is recognised by name and answered with
every sub-field they read (extra fields are harmless to them):

- `run(runID)` -> {status, output, trace {name, status, outputID, childrenSpans [{name, status,
  outputID, stepType, attempts}]}}; status is RUNNING/COMPLETED/FAILED/CANCELLED, output the JSON
  of the return value or of the error. One span per executed step.run, in completion order.
- `runTrigger(runID)` -> {payloads: [JSON of the triggering event]}
- `event(query: {eventId})` -> {functionRuns: [{id}]} (runs started by the event, internal id)
- `runTraceSpanOutputByID(outputID)` -> {data: JSON of the step output | null, error | null}
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import fastapi
import temporalio.api.enums.v1
import temporalio.client
import temporalio.exceptions
import temporalio.service

from . import _auth, _deps, _errors, _runs

router = fastapi.APIRouter(tags=["sdk"], include_in_schema=False)

_ROOT: Final = re.compile(r"\b(runTraceSpanOutputByID|runTrigger|run|event|events|stream)\s*\(([^)]*)\)")
_ARG: Final = re.compile(r"(\w+)\s*:\s*(?:\$(\w+)|\"([^\"]*)\")")
_REPEAT_SUFFIX: Final = re.compile(r":\d+$")
_SEP: Final = "~"
_EventType = temporalio.api.enums.v1.EventType
_GQL_STATUS: Final = {
    "Scheduled": "QUEUED",
    "Running": "RUNNING",
    "Completed": "COMPLETED",
    "Failed": "FAILED",
    "Cancelled": "CANCELLED",
}


def _args(text: str, variables: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, var, literal in _ARG.findall(text):
        out[name] = variables.get(var) if var else literal
    return out


async def _history(client: temporalio.client.Client, run_id: str) -> list[Any]:
    handle = client.get_workflow_handle(run_id)
    return [e async for e in handle.fetch_history_events()]


async def _decode(client: temporalio.client.Client, payloads: Any) -> list[Any]:
    items = list(payloads.payloads) if payloads is not None else []
    if not items:
        return []
    return list(await client.data_converter.decode(items))


async def _spans(client: temporalio.client.Client, run_id: str) -> list[dict[str, Any]]:
    spans = []
    scheduled: dict[int, str] = {}
    for e in await _history(client, run_id):
        if e.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = e.activity_task_completed_event_attributes
            step = scheduled.get(attrs.scheduled_event_id)
            if step is None:
                continue
            (outcome,) = (await _decode(client, attrs.result)) or [None]
            if not isinstance(outcome, dict):
                continue
            # Steps a discovery call ran inline (SDK apps in inline mode): "<event id>/<index>".
            for index, ran in enumerate(outcome.get("ran") or []):
                status = "FAILED" if "error" in (ran.get("output") or {}) else "COMPLETED"
                spans.append(_span(ran["id"], status, f"{run_id}{_SEP}{e.event_id}/{index}"))
            if not outcome.get("target_ran"):
                continue
            output = outcome.get("target_output") or {}
            status = "FAILED" if "error" in output else "COMPLETED"
            spans.append(_span(step, status, f"{run_id}{_SEP}{e.event_id}"))
        elif e.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            attrs = e.activity_task_failed_event_attributes
            step = scheduled.get(attrs.scheduled_event_id)
            if step is not None:
                spans.append(_span(step, "FAILED", f"{run_id}{_SEP}{e.event_id}"))
    return spans


def _span(step: str, status: str, output_id: str) -> dict[str, Any]:
    return {
        "name": _REPEAT_SUFFIX.sub("", step),
        "status": status,
        "outputID": output_id,
        "stepType": "RUN",
        "attempts": 1,
        "childrenSpans": [],
    }


async def _span_output(client: temporalio.client.Client, output_id: str) -> dict[str, Any] | None:
    run_id, _, raw_event = output_id.rpartition(_SEP)
    if not run_id:
        return None
    if raw_event == "result":
        output = await _run_output(client, run_id)
        return {"data": output, "error": None}
    raw_event, _, raw_index = raw_event.partition("/")
    wanted = int(raw_event)
    for e in await _history(client, run_id):
        if e.event_id != wanted:
            continue
        if e.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            (outcome,) = (await _decode(client, e.activity_task_completed_event_attributes.result)) or [{}]
            output = _activity_output(outcome or {}, raw_index)
            if "error" in output:
                err = output["error"] or {}
                return {"data": None, "error": _error_fields(err)}
            return {"data": json.dumps(output.get("data")), "error": None}
        if e.event_type == _EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failure = e.activity_task_failed_event_attributes.failure
            return {
                "data": None,
                "error": {"message": failure.message, "name": failure.application_failure_info.type or "Error",
                          "stack": failure.stack_trace, "cause": None},
            }
    return None


def _activity_output(outcome: dict[str, Any], index: str) -> dict[str, Any]:
    """A step's memo entry in an activity's outcome: the target's, or the index-th inline one."""
    if not index:
        return dict(outcome.get("target_output") or {})
    ran = outcome.get("ran") or []
    return dict(ran[int(index)].get("output") or {}) if int(index) < len(ran) else {}


def _error_fields(err: dict[str, Any]) -> dict[str, Any]:
    return {
        "message": str(err.get("message", "")),
        "name": str(err.get("name", "Error")),
        "stack": err.get("stack"),
        "cause": err.get("cause"),
    }


async def _run_output(client: temporalio.client.Client, run_id: str) -> str | None:
    handle = client.get_workflow_handle(run_id)
    try:
        value = await handle.result(follow_runs=True)
    except temporalio.client.WorkflowFailureError as err:
        return json.dumps(_runs.error_output(err))
    return json.dumps(value)


async def _run(client: temporalio.client.Client, run_id: str) -> dict[str, Any] | None:
    try:
        run = await _runs.get_run(client, run_id)
    except Exception:  # noqa: BLE001 - unknown runs are null in GraphQL
        return None
    status = _GQL_STATUS.get(run.status, "RUNNING")
    output = await _run_output(client, run_id) if status in ("COMPLETED", "FAILED") else None
    spans = await _spans(client, run_id)
    return {
        "id": run_id,
        "status": status,
        "output": output,
        "trace": {
            "name": run.function_id,
            "status": status,
            "outputID": f"{run_id}{_SEP}result",
            "stepType": "RUN",
            "attempts": 1,
            "childrenSpans": spans,
        },
    }


async def _trigger(client: temporalio.client.Client, run_id: str) -> dict[str, Any] | None:
    for e in await _history(client, run_id):
        if e.event_type == _EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            (inp,) = (await _decode(client, e.workflow_execution_started_event_attributes.input)) or [{}]
            events = (inp or {}).get("events") or [(inp or {}).get("event") or {}]
            return {"payloads": [json.dumps(ev) for ev in events]}
    return None


async def _event(client: temporalio.client.Client, event_id: str) -> dict[str, Any]:
    runs = await _runs.list_event_runs(client, event_id)
    return {"id": event_id, "functionRuns": [{"id": r.run_id} for r in runs]}


@router.post("/v0/gql", summary="The GraphQL subset SDK test harnesses use")
async def gql(
    request: fastapi.Request, settings: _deps.SettingsDep, client: _deps.TemporalDep
) -> dict[str, Any]:
    _auth.check_bearer(request.headers.get("authorization"), settings)
    try:
        body = json.loads(await request.body())
    except ValueError as err:
        raise _errors.BadRequestError(f"request body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise _errors.BadRequestError(
            'request body must be a JSON object {"query": "...", "variables": {...}}'
        )
    query = str(body.get("query") or "")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise _errors.BadRequestError("variables must be a JSON object", field="variables")
    data: dict[str, Any] = {}
    errors = []
    for field, raw_args in _ROOT.findall(query):
        args = _args(raw_args, variables)
        try:
            if field == "run":
                data["run"] = await _run(client, str(args.get("runID")))
            elif field == "runTrigger":
                data["runTrigger"] = await _trigger(client, str(args.get("runID")))
            elif field == "event":
                data["event"] = await _event(client, str(args.get("eventId")))
            elif field == "runTraceSpanOutputByID":
                data[field] = await _span_output(client, str(args.get("outputID")))
            else:
                errors.append({"message": f"{field} is not supported by this gateway"})
        except temporalio.service.RPCError as err:
            errors.append({"message": f"{field}: Temporal error: {err.message}"})
    out: dict[str, Any] = {"data": data}
    if errors:
        out["errors"] = errors
    return out
