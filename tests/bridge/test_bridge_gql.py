"""The GraphQL subset SDK test harnesses read runs with (`POST /v0/gql`), answered from Temporal."""

from __future__ import annotations

import json

import pytest
from bridge_support import BridgeStack, SdkApp

pytestmark = pytest.mark.temporal


async def test_bridge_gql_answers_run_status_output_steps_and_trigger(
    bridge: BridgeStack, fastapi_app: SdkApp
) -> None:
    event_id = await bridge.send(fastapi_app.event("steps"), {"n": 1})
    (run,) = await bridge.runs(event_id)
    done = await bridge.finished(run["run_id"])
    run_id = done["run_id"]

    data = await bridge.gql(
        "query GetRunFromEventID($event_id: ID!) { event(query: {eventId: $event_id}) { functionRuns { id } } }",
        event_id=event_id,
    )
    assert {"functionRuns": [{"id": run_id}]} == {"functionRuns": data["event"]["functionRuns"]}

    data = await bridge.gql(
        "query GetRun($run_id: String!) { run(runID: $run_id) { output status } "
        "runTrigger(runID: $run_id) { payloads } }",
        run_id=run_id,
    )
    assert "COMPLETED" == data["run"]["status"]
    assert {"a": 2, "b": 4, "run_id": run_id} == json.loads(data["run"]["output"])
    trigger = json.loads(data["runTrigger"]["payloads"][0])
    assert (fastapi_app.event("steps"), {"n": 1}) == (trigger["name"], trigger["data"])

    data = await bridge.gql(
        "query GetHistory($run_id: String!) { run(runID: $run_id) { trace { childrenSpans { name outputID } } } }",
        run_id=run_id,
    )
    spans = data["run"]["trace"]["childrenSpans"]
    assert ["add-one", "double"] == [s["name"] for s in spans]
    data = await bridge.gql(
        "query GetHistory($output_id: String!) { runTraceSpanOutputByID(outputID: $output_id) "
        "{ data error { message name stack } } }",
        output_id=spans[1]["outputID"],
    )
    assert {"data": "4", "error": None} == data["runTraceSpanOutputByID"]


async def test_bridge_gql_failed_run_output_is_the_sdk_error(
    bridge: BridgeStack, fastapi_app: SdkApp
) -> None:
    done = await bridge.run(fastapi_app.event("no-retry"), {})
    data = await bridge.gql(
        "query GetRun($run_id: String!) { run(runID: $run_id) { output status } }", run_id=done["run_id"]
    )
    assert "FAILED" == data["run"]["status"]
    output = json.loads(data["run"]["output"])
    assert ("non_retriable_error", "NonRetriableError", "refused for good") == (
        output["code"], output["name"], output["message"]
    )
