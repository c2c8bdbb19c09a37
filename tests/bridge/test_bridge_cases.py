"""Behaviours of the SDK's contract, each through a stock inngest-py app run on Temporal (tests/bridge/cases_app.py).

Each test starts a run of one function of the app and checks what Inngest's executor would
produce: the run's status and output (the SDK's own error bodies on failure), the step outputs the
GraphQL API reports, and what the handler saw or recorded.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from typing import Any

import inngest
import pytest
from bridge_support import BridgeStack, SdkApp
from e2e_support import eventually

pytestmark = pytest.mark.temporal
MIB = 1024 * 1024

ODD = "%$^&*(_+{|:<?☃️/"  # inngest-py's crazy_ids, and a slash (invokee ids have them)


def _records(bridge: BridgeStack, app: SdkApp, key: str, run_id: str) -> list[dict[str, Any]]:
    return [r for r in bridge.records_of(app.app_id, key) if r.get("run_id") == run_id]


async def _step_outputs(bridge: BridgeStack, run_id: str) -> list[tuple[str, Any]]:
    """(step name, output) for each step span the GraphQL API reports, as inngest-py's tests read them."""
    data = await bridge.gql(
        "query($id: String!) { run(runID: $id) { trace { childrenSpans { name outputID } } } }",
        id=run_id,
    )
    out = []
    for span in data["run"]["trace"]["childrenSpans"]:
        got = await bridge.gql(
            "query($o: String!) { runTraceSpanOutputByID(outputID: $o) { data error { message name stack } } }",
            o=span["outputID"],
        )
        output = got["runTraceSpanOutputByID"]
        if output["error"] is None:
            out.append((span["name"], {"data": json.loads(output["data"])}))
        else:
            out.append((span["name"], {"error": output["error"]}))
    return out


async def _gql_run(bridge: BridgeStack, run_id: str) -> tuple[str, Any]:
    """A run's status and output as the GraphQL API reports them (what inngest-py's tests assert)."""
    data = await bridge.gql(
        "query($id: String!) { run(runID: $id) { status output } }", id=run_id
    )
    output = data["run"]["output"]
    return data["run"]["status"], None if output is None else json.loads(output)


async def _failed_output(bridge: BridgeStack, app: SdkApp, event: str) -> tuple[str, Any]:
    run = await bridge.run(app.event(event), {}, timeout=20)
    assert "Failed" == run["status"], run
    status, output = await _gql_run(bridge, run["run_id"])
    assert "FAILED" == status
    assert output == run["output"]  # the REST API answers the same error body
    return run["run_id"], output


async def _send_many(bridge: BridgeStack, events: list[dict[str, Any]]) -> list[str]:
    r = await bridge.http.post("/e/test-key", json=events)
    assert 200 == r.status_code, r.text
    return [str(i) for i in r.json()["ids"]]


async def test_bridge_function_and_step_ids_with_odd_characters(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    event_id = await bridge.send(cases_app.event("odd"), {})
    (started,) = await bridge.runs(event_id)

    async def ended() -> dict[str, Any] | None:
        # The run id holds the function id: escape it in the URL.
        r = await bridge.http.get(f"/v1/runs/{urllib.parse.quote(started['run_id'], safe='')}")
        assert 200 == r.status_code, r.text
        run = r.json()["data"]
        return run if run["status"] != "Running" else None

    run = await eventually(ended, timeout=20, what="the run to end")
    assert "Completed" == run["status"], run
    assert "fine" == run["output"]
    assert cases_app.fn(f"odd{ODD}") == await bridge.workflow_type(run["run_id"])
    assert [(ODD, {"data": "fine"})] == await _step_outputs(bridge, run["run_id"])
    # What an SDK reads with use_api: inngest-py puts the run id in the path unescaped.
    quoted = urllib.parse.quote(run["run_id"], safe="/")
    r = await bridge.http.get(f"/v0/runs/{quoted}/actions")
    assert 200 == r.status_code, r.text
    assert ["fine"] == [output["data"] for output in r.json().values()]


async def test_bridge_repeated_step_id_runs_each_occurrence_once(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run = await bridge.run(cases_app.event("repeated-step"), {}, timeout=20)
    assert "Completed" == run["status"], run
    assert [0, 1] == run["output"]
    assert [0, 1] == [r["i"] for r in _records(bridge, cases_app, "ran", run["run_id"])]
    assert [("foo", {"data": 0}), ("foo", {"data": 1})] == await _step_outputs(
        bridge, run["run_id"]
    )


async def test_bridge_error_raised_over_a_failed_step_is_the_run_output(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    _, output = await _failed_output(bridge, cases_app, "replace-step-error")
    assert isinstance(output.get("stack"), str), output
    assert {
        "code": "unknown",
        "message": "a different error",
        "name": "MyError",
        "stack": output["stack"],
    } == output


async def test_bridge_unserializable_step_output_fails_the_run(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    _, output = await _failed_output(bridge, cases_app, "unserializable")
    assert {
        "code": "output_unserializable",
        "message": '"opaque" returned unserializable data',
        "name": "OutputUnserializableError",
    } == output


async def test_bridge_new_step_met_while_targeting_another_fails_the_run(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run_id, output = await _failed_output(bridge, cases_app, "step-when-targeted")
    assert {
        "code": "step_unexpected",
        "message": 'found step "surprise" when targeting a different step',
        "name": "StepUnexpectedError",
        "stack": None,
    } == output
    assert [] == _records(bridge, cases_app, "ran", run_id)  # no step body ran


async def test_bridge_planned_parallel_step_that_disappears_fails_the_run(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    _, output = await _failed_output(bridge, cases_app, "vanishing-step")
    assert {
        "code": "step_unexpected",
        "message": 'found step "after" when targeting a different step',
        "name": "StepUnexpectedError",
        "stack": None,
    } == output


async def test_bridge_invoked_function_failure_raises_step_error_in_the_caller(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run_id, output = await _failed_output(bridge, cases_app, "invoke-fails")
    assert ("step_errored", "InvokeeError", "invokee gave up") == (
        output["code"],
        output["name"],
        output["message"],
    )
    (seen,) = _records(bridge, cases_app, "invoke-error", run_id)
    assert {
        "run_id": run_id,
        "name": "InvokeeError",
        "message": "invokee gave up",
        "stack_is_str": True,
    } == seen


async def test_bridge_invoke_timeout_raises_invoke_timeout_error(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    started = time.monotonic()
    run_id, output = await _failed_output(bridge, cases_app, "invoke-times-out")
    elapsed = time.monotonic() - started
    assert {
        "code": "step_errored",
        "message": "Timed out waiting for invoked function to complete",
        "name": "InngestInvokeTimeoutError",
        "stack": None,
    } == output
    (seen,) = _records(bridge, cases_app, "invoke-error", run_id)
    assert ("InngestInvokeTimeoutError", "Timed out waiting for invoked function to complete") == (
        seen["name"],
        seen["message"],
    )
    assert elapsed < 10, elapsed  # the 1 s timeout, not the invokee's 60 s sleep


async def test_bridge_invoke_by_function_id(bridge: BridgeStack, cases_app: SdkApp) -> None:
    run = await bridge.run(cases_app.event("invoke-by-id"), {}, timeout=20)
    assert "Completed" == run["status"], run
    assert {"sum": 5, "name": "inngest/function.invoked"} == run["output"]


async def test_bridge_function_with_two_triggers_runs_for_each(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    first = await bridge.run(cases_app.event("first"), {}, timeout=20)
    second = await bridge.run(cases_app.event("second"), {}, timeout=20)
    assert ("Completed", "Completed") == (first["status"], second["status"]), (first, second)
    assert (cases_app.event("first"), cases_app.event("second")) == (
        first["output"],
        second["output"],
    )
    assert first["run_id"] != second["run_id"]
    assert cases_app.fn("two-triggers") == await bridge.workflow_type(second["run_id"])


async def test_bridge_client_send_inside_a_function_starts_another_run(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    marker = uuid.uuid4().hex
    run = await bridge.run(cases_app.event("sender"), {"marker": marker}, timeout=20)
    assert "Completed" == run["status"], run
    (sent_id,) = run["output"]
    (received,) = await bridge.runs(sent_id)
    done = await bridge.finished(received["run_id"], timeout=20)
    assert "Completed" == done["status"], done
    assert {"got": marker} == done["output"]
    assert cases_app.fn("receiver") == await bridge.workflow_type(done["run_id"])


async def test_bridge_handler_sees_the_event_and_its_run_context(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    before_ms = int(time.time() * 1000)
    event_id = await bridge.send(cases_app.event("payload"), {"foo": {"bar": "baz"}})
    (run,) = await bridge.runs(event_id)
    done = await bridge.finished(run["run_id"], timeout=20)
    after_ms = int(time.time() * 1000)
    assert "Completed" == done["status"], done
    ts = done["output"]["event"]["ts"]
    assert before_ms - 1000 <= ts <= after_ms, (before_ms, ts, after_ms)
    assert {
        "event": {
            "id": event_id,
            "name": cases_app.event("payload"),
            "data": {"foo": {"bar": "baz"}},
            "ts": ts,
        },
        "events": [event_id],
        "attempt": 0,
        "run_id": run["run_id"],
        "step_api": "Step",
    } == done["output"]


async def test_bridge_sleep_until_a_time_waits_until_then(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run = await bridge.run(cases_app.event("sleep-until"), {}, timeout=20)
    assert "Completed" == run["status"], run
    seen = _records(bridge, cases_app, "sleep-until", run["run_id"])
    before = min(r["t"] for r in seen if r["phase"] == "before")
    after = min(r["t"] for r in seen if r["phase"] == "after")
    assert 1.99 <= after - before < 6, after - before
    history = await bridge.history(run["run_id"])
    assert 1 == len([e for e in history if e.HasField("timer_started_event_attributes")])


async def _retry_gaps(bridge: BridgeStack, app: SdkApp, raise_at: list[str]) -> dict[str, float]:
    """Seconds between each raise of a RetryAfterError (2 s) and the retry that follows it."""
    run = await bridge.run(
        app.event("retry-after"), {"delay_s": 2, "raise_at": raise_at}, timeout=30
    )
    assert "Completed" == run["status"], run
    assert "done" == run["output"]
    seen = _records(bridge, app, "retry-after", run["run_id"])
    gaps = {}
    for at in raise_at:
        times = [r["t"] for r in seen if r["at"] == at]
        assert 2 <= len(times), (at, seen)
        gaps[at] = round(times[1] - times[0], 2)
    return gaps


async def test_bridge_retry_after_is_honoured_before_any_step_and_in_a_step(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    # 2 s, twice the session's retry interval (1 s): a retry that ignores Retry-After comes too soon.
    gaps = await _retry_gaps(bridge, cases_app, ["fn-1", "step"])
    assert {"fn-1": True, "step": True} == {at: 1.9 <= gap < 4.5 for at, gap in gaps.items()}, gaps


async def test_bridge_retry_after_is_honoured_at_function_level_after_a_step(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    gaps = await _retry_gaps(bridge, cases_app, ["fn-2"])
    assert {"fn-2": True} == {at: 1.9 <= gap < 4.5 for at, gap in gaps.items()}, gaps


async def test_bridge_function_error_after_a_step_without_retries_is_met_once(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run_id, output = await _failed_output(bridge, cases_app, "fails-after-step")
    assert ("unknown", "ValueError", "broken after a step") == (
        output["code"],
        output["name"],
        output["message"],
    )
    # retries=0: the code after the step runs once, as on Inngest.
    assert [0] == [r["attempt"] for r in _records(bridge, cases_app, "fails-after-step", run_id)]


async def test_bridge_singleton_skip_runs_only_the_first_of_two(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    name = cases_app.event("singleton-skip")
    ids = await _send_many(bridge, [{"name": name, "data": {}}, {"name": name, "data": {}}])
    runs = [run for event_id in ids for run in await bridge.runs(event_id)]
    done = [await bridge.finished(run["run_id"], timeout=20) for run in runs]
    assert ["Completed", "Skipped"] == sorted(d["status"] for d in done), done
    (completed,) = [d["run_id"] for d in done if d["status"] == "Completed"]
    executed = {r["run_id"] for r in bridge.records_of(cases_app.app_id, "singleton-skip")}
    assert {completed} == executed & {d["run_id"] for d in done}


async def test_bridge_singleton_cancel_replaces_the_active_run(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    marker = uuid.uuid4().hex
    first_event = await bridge.send(cases_app.event("singleton-cancel"), {"n": f"{marker}-1"})
    (first,) = await bridge.runs(first_event)

    async def started() -> bool:
        return any(
            r["n"] == f"{marker}-1" for r in bridge.records_of(cases_app.app_id, "singleton-cancel")
        )

    await eventually(started, timeout=20, what="the first run to start")
    second_event = await bridge.send(cases_app.event("singleton-cancel"), {"n": f"{marker}-2"})
    (second,) = await bridge.runs(second_event)
    assert "Cancelled" == (await bridge.finished(first["run_id"], timeout=20))["status"]
    assert "Completed" == (await bridge.finished(second["run_id"], timeout=20))["status"]
    calls = [
        r["n"]
        for r in bridge.records_of(cases_app.app_id, "singleton-cancel")
        if r["n"].startswith(marker)
    ]
    assert [f"{marker}-1", f"{marker}-2"] == list(dict.fromkeys(calls))


async def test_bridge_sync_handlers_of_two_runs_execute_at_the_same_time(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    key = uuid.uuid4().hex
    name = cases_app.event("rendezvous")
    ids = await _send_many(
        bridge, [{"name": name, "data": {"key": key}}, {"name": name, "data": {"key": key}}]
    )
    runs = [run for event_id in ids for run in await bridge.runs(event_id)]
    done = [await bridge.finished(run["run_id"], timeout=25) for run in runs]
    assert [("Completed", 2), ("Completed", 2)] == [(d["status"], d["output"]) for d in done], done


async def test_bridge_tuple_step_output_becomes_a_list(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run = await bridge.run(cases_app.event("tuple-output"), {}, timeout=20)
    assert "Completed" == run["status"], run
    assert {"out": [1, 2], "type": "list"} == run["output"]
    assert [("pair", {"data": [1, 2]})] == await _step_outputs(bridge, run["run_id"])


async def test_bridge_typed_event_sent_by_the_stock_client_round_trips(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    client = inngest.Inngest(
        app_id="bridge-cases-sender", event_api_base_url=bridge.gateway_url, is_production=False
    )
    (event_id,) = await client.send(
        inngest.Event(name=cases_app.event("typed"), data={"count": 1}, id="", ts=0)
    )
    (run,) = await bridge.runs(event_id)
    done = await bridge.finished(run["run_id"], timeout=20)
    assert "Completed" == done["status"], done
    ts = done["output"]["ts"]
    assert abs(time.time() * 1000 - ts) < 60_000, ts
    assert {"data": {"count": 1}, "id": event_id, "ts": ts} == done["output"]


async def test_bridge_parallel_groups_of_sequential_steps(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run = await bridge.run(cases_app.event("groups-of-steps"), {}, timeout=20)
    assert "Completed" == run["status"], run
    assert [["1a", "1b"], ["2a", "2b", "2c"], "3"] == run["output"]
    ran = [r["step"] for r in _records(bridge, cases_app, "ran", run["run_id"])]
    assert ["1a", "1b", "2a", "2b", "2c", "3", "after"] == sorted(ran)  # each once
    assert "after" == ran[-1]
    assert ran.index("1a") < ran.index("1b") and ran.index("2a") < ran.index("2b") < ran.index("2c")


async def test_bridge_step_callbacks_get_their_arguments(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    run = await bridge.run(cases_app.event("step-args"), {}, timeout=20)
    assert "Completed" == run["status"], run
    assert ["1a", 40] == run["output"]
    assert [("join", {"data": "1a"}), ("sync", {"data": 40})] == await _step_outputs(
        bridge, run["run_id"]
    )


async def test_bridge_batch_too_large_for_one_payload_is_split_losing_nothing(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    # No payload store in this stack: a run's input is one Temporal payload (2 MiB), so a batch
    # starts once the next event would take it past 1.5 MiB (with a store: Inngest's 10 MiB).
    # Events of 1 MiB therefore run one per batch, each event once, in order.
    ids = [await bridge.send(cases_app.event("batch"), {"i": i, "msg": "a" * MIB}) for i in range(3)]
    outputs = []
    for event_id in ids:
        (run,) = await bridge.runs(event_id, timeout=20)
        done = await bridge.finished(run["run_id"], timeout=30)
        assert "Completed" == done["status"], (done["output"], done.get("error"))
        outputs.append(done["output"])
    assert [{"count": 1, "order": [i], "sizes": [MIB], "first": i} for i in range(3)] == outputs


async def test_bridge_batch_and_steps_are_served_to_the_sdk_from_the_api(
    bridge: BridgeStack, cases_app: SdkApp
) -> None:
    # What an SDK reads when a call carries no state (use_api: over 4 MiB, which needs a payload
    # store for batches; the 5 MiB step-state case is in test_bridge_parity.py): the batch's events
    # in order, and the run's memo.
    ids = await _send_many(bridge, [{"name": cases_app.event("batch"), "data": {"i": i, "msg": "m"}} for i in range(2)])
    (run,) = await bridge.runs(ids[0], timeout=20)
    done = await bridge.finished(run["run_id"], timeout=30)
    assert {"count": 2, "order": [0, 1], "sizes": [1], "first": 0} == done["output"]
    r = await bridge.http.get(f"/v0/runs/{run['run_id']}/batch")
    assert 200 == r.status_code, r.text
    assert [ids, [0, 1]] == [[e["id"] for e in r.json()], [e["data"]["i"] for e in r.json()]]
    r = await bridge.http.get(f"/v0/runs/{run['run_id']}/actions")
    assert (200, {}) == (r.status_code, r.json())  # no steps
