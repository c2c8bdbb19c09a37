"""The routing core on a real stack: a request's events are routed concurrently where their order
cannot matter, and in request order where it can (same event id, same pause router)."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest
import temporalio.client
import temporalio.service
from e2e_support import Stack
from temporalio.api.enums.v1 import EventType

import temporal_worker
from compat import inngest
from compat._internal import errors
from temporal_worker._matching import run_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_request_of_many_plain_events_starts_every_run_and_answers_ids_in_order(
    stack: Stack,
) -> None:
    key = uuid.uuid4().hex
    events = [{"name": "order/placed", "data": {"key": f"{key}-{n}", "n": n}} for n in range(40)]

    ids = await stack.send(events)

    assert len(ids) == 40 and len(set(ids)) == 40
    for n, event_id in enumerate(ids):
        (run,) = await stack.runs(event_id)
        finished = await stack.finished_run(run["run_id"])
        assert finished["status"] == "Completed"
        assert finished["output"] == event_id  # dedup returns ctx.event.id: this event's
        assert stack.records_of(f"{key}-{n}")[0]["run_id"] == run["run_id"]


async def test_an_event_id_repeated_in_one_request_starts_one_run_with_the_first_event(
    stack: Stack,
) -> None:
    dup = f"dup-{uuid.uuid4().hex}"
    key = uuid.uuid4().hex
    events = [{"name": "order/placed", "data": {"key": f"{key}-a"}}]
    events += [{"name": "order/placed", "id": dup, "data": {"key": key, "n": n}} for n in (1, 2)]
    events += [{"name": "order/placed", "data": {"key": f"{key}-b"}}]

    ids = await stack.send(events)

    (run,) = await stack.runs(ids[1])
    assert run["run_id"] == run_id("cases-dedup", {"id": dup}, "unused")
    assert (await stack.finished_run(run["run_id"]))["output"] == dup
    await stack.runs(ids[3])  # the event after the duplicate started its run too
    r = await stack.http.get(f"/v1/events/{ids[2]}/runs")
    assert r.status_code == 200 and r.json()["data"] == []  # the repeat started nothing
    assert [r["run_id"] for r in stack.records_of(key)] == [run["run_id"]]
    history = await stack.client.get_workflow_handle(run["run_id"]).fetch_history()
    run_input = json.loads(history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data)
    assert run_input["event"]["data"]["n"] == 1


async def test_events_of_one_name_in_one_request_reach_a_waiting_run_in_request_order(
    stack: Stack,
) -> None:
    key = uuid.uuid4().hex
    waiting = await stack.waiting_run("cases/wait-key", {"key": key})

    await stack.send(
        [{"name": "cases/key-arrived", "data": {"key": key, "n": n}} for n in range(1, 9)]
    )

    finished = await stack.finished_run(waiting)
    assert finished["status"] == "Completed"
    assert finished["output"] == 1  # the first matching event of the request, not any other


class _Functions:
    """The registry's face the routing core uses, over a fixed list of functions."""

    def __init__(self, functions: list[temporal_worker.FunctionSpec]) -> None:
        self._functions = functions

    async def functions(self) -> list[temporal_worker.FunctionSpec]:
        return self._functions


async def test_a_failure_mid_request_answers_the_ids_before_it_and_names_later_runs_it_started(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:12]
    queue = f"routing-{tag}"  # no worker polls it: the runs just exist
    ok = temporal_worker.FunctionSpec(
        id=f"routing-ok-{tag}", app_id="routing", name="ok", task_queue=queue,
        triggers=[temporal_worker.TriggerSpec(event="routing/ok")],
    )
    # Temporal refuses a workflow type over 1,000 characters: starting this one's run fails.
    bad = temporal_worker.FunctionSpec(
        id="routing-bad-" + "x" * 1100, app_id="routing", name="bad", task_queue=queue,
        triggers=[temporal_worker.TriggerSpec(event="routing/bad")],
    )
    router = temporal_worker.EventRouter(stack.client, _Functions([ok, bad]))  # type: ignore[arg-type]
    events = [
        {"name": "routing/ok", "data": {}, "id": ""},
        {"name": "routing/bad", "data": {}, "id": ""},
        *({"name": "routing/ok", "data": {}, "id": f"{tag}-{n}"} for n in (2, 3, 4)),
    ]

    with pytest.raises(temporal_worker.RoutingError) as info:
        await router.send(events)

    message = str(info.value)
    assert message.startswith("routing event[1] ('routing/bad') failed: RPCError"), message
    (first,) = info.value.ids  # the events before the failing one, all routed
    handles = [stack.client.get_workflow_handle(f"{ok.id}:{first}")]
    await handles[0].describe()
    for n in (2, 3, 4):  # in flight beside it: a run started exactly when the error names it
        handle = stack.client.get_workflow_handle(run_id(ok.id, events[n], "unused"))
        try:
            await handle.describe()
            started = True
            handles.append(handle)
        except temporalio.service.RPCError as err:
            assert err.status == temporalio.service.RPCStatusCode.NOT_FOUND
            started = False
        assert (f"event[{n}] " in message) == started, message
    for handle in handles:
        await handle.terminate("test over")


async def test_large_events_of_one_name_reach_their_router_without_a_payload_store(
    stack: Stack,
) -> None:
    # Temporal refuses a payload over 2 MiB; a request may carry 3 MiB of events of one name. Events
    # queued for one router go in signals of at most 512 KiB, so none is refused for its neighbours.
    key = uuid.uuid4().hex
    waiting = await stack.waiting_run("cases/wait-key", {"key": key})
    plain = await temporalio.client.Client.connect(stack.server.address)  # no external storage
    router = temporal_worker.EventRouter(plain, _Functions([]))  # type: ignore[arg-type]
    pad = "x" * 700_000
    events = [{"name": "cases/key-arrived", "data": {"key": f"other-{n}", "pad": pad}} for n in range(3)]
    events.append({"name": "cases/key-arrived", "data": {"key": key, "n": 4, "pad": pad}})

    ids = await router.send(events)

    assert len(ids) == 4
    finished = await stack.finished_run(waiting)
    assert (finished["status"], finished["output"]) == ("Completed", 4)


async def test_a_requests_events_are_received_at_one_instant(stack: Stack) -> None:
    # A wait never sees an event received before it began; every event of one request is received
    # when the request is, so a run a request triggers never takes that request's later events.
    key = uuid.uuid4().hex
    waiting = await stack.waiting_run("cases/wait-key", {"key": key})  # the router exists
    before_ms = int(time.time() * 1000)
    ids = await stack.send(
        [{"name": "cases/key-arrived", "data": {"key": f"{key}-{n}"}} for n in range(40)]
    )
    after_ms = int(time.time() * 1000)

    received: dict[str, tuple[int, int]] = {}
    query = "WorkflowId = 'inngest-pauses:cases/key-arrived'"
    async for execution in stack.client.list_workflows(query):
        handle = stack.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            attrs = event.workflow_execution_signaled_event_attributes
            if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                continue
            if attrs.signal_name not in ("deliver", "deliver_many"):
                continue
            data = json.loads(attrs.input.payloads[0].data)
            for payload in data if isinstance(data, list) else [data]:
                if payload["event"]["id"] in ids:
                    received[payload["event"]["id"]] = (payload["received_ms"], payload["event"]["ts"])
    assert set(received) == set(ids)
    ((received_ms, ts),) = set(received.values())
    assert before_ms <= received_ms <= after_ms and ts == received_ms
    await stack.send({"name": "cases/key-arrived", "data": {"key": key, "n": 1}})
    assert (await stack.finished_run(waiting))["output"] == 1


async def test_a_request_re_sent_with_its_event_id_seed_answers_the_same_ids_and_starts_no_run_twice(
    stack: Stack,
) -> None:
    # The Inngest SDKs (and ours) send x-inngest-event-id-seed and re-send a request after a
    # timeout or a 5xx: the re-sent request must not start its runs again.
    key = uuid.uuid4().hex
    body = [{"name": "order/placed", "data": {"key": f"{key}-{n}"}} for n in range(3)]
    seed = {"x-inngest-event-id-seed": f"{int(time.time() * 1000)},{base64.b64encode(os.urandom(10)).decode()}"}

    first = await stack.http.post("/e/test", json=body, headers=seed)
    again = await stack.http.post("/e/test", json=body, headers=seed)

    assert first.status_code == again.status_code == 200, (first.text, again.text)
    ids = first.json()["ids"]
    assert again.json()["ids"] == ids and len(set(ids)) == 3
    for n, event_id in enumerate(ids):
        (run,) = await stack.runs(event_id)
        assert (await stack.finished_run(run["run_id"]))["status"] == "Completed"
        r = await stack.http.get(f"/v1/events/{event_id}/runs")
        assert [run["run_id"]] == [x["run_id"] for x in r.json()["data"]]
        assert len(stack.records_of(f"{key}-{n}")) == 1  # the function ran once


async def test_the_gateway_serves_with_httptools_on_uvloop(stack: Stack) -> None:
    """The event path's HTTP parser and event loop are the C ones (about 1 ms less per request
    than uvicorn's pure-Python h11 on asyncio), as its startup line says."""
    lines = stack.gateway.log_path.read_text(errors="replace").splitlines()
    starting = [json.loads(line) for line in lines if '"starting gateway server"' in line]
    assert starting, "no 'starting gateway server' line in the gateway log"
    assert {"http": "httptools", "loop": "uvloop"} == {
        k: starting[-1][k] for k in ("http", "loop")
    }


async def test_text_no_store_can_hold_is_refused_and_nothing_after_it_starts(stack: Stack) -> None:
    """A lone surrogate escape decodes but is not Unicode: Temporal's encoder refused it after the
    run had started (then REST reads of the run failed), or mid-request with later events already
    started. Now it is a 400 naming the field, and only the events before it are sent."""
    key = uuid.uuid4().hex
    body = (
        f'[{{"name": "order/placed", "data": {{"key": "{key}-0"}}}},'
        f' {{"name": "order/placed", "data": {{"key": "{key}-1", "x": "a\\ud800"}}}},'
        f' {{"name": "order/placed", "data": {{"key": "{key}-2"}}}}]'
    )
    response = await stack.http.post(
        "/e/test", content=body, headers={"content-type": "application/json"}
    )
    assert 400 == response.status_code, response.text
    answer = response.json()
    assert "event[1].data.x" == answer["field"]
    assert answer["error"].startswith("event[1].data.x holds the lone surrogate '\\ud800'")
    (first,) = answer["ids"]
    (run,) = await stack.runs(first)
    assert "Completed" == (await stack.finished_run(run["run_id"]))["status"]
    assert [] == stack.records_of(f"{key}-1") == stack.records_of(f"{key}-2")


async def test_compat_client_sending_a_lone_surrogate_gets_the_gateways_error(stack: Stack) -> None:
    """The compat client sent with httpx's json=, which raised UnicodeEncodeError from inside
    httpx; now the text goes as its escape and the gateway's 400 names the field."""
    client = inngest.Inngest(app_id="sender", event_api_base_url=stack.gateway_url, is_production=False)
    key = uuid.uuid4().hex
    with pytest.raises(errors.SendEventsError, match=r"HTTP 400: event\[0\]\.data\.x holds the lone surrogate"):
        client.send_sync(inngest.Event(name="order/placed", data={"key": key, "x": "a\ud800"}))
    assert [] == stack.records_of(key)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[]", 'request body must be a JSON object {"query": "...", "variables": {...}}'),
        (b'"x"', 'request body must be a JSON object {"query": "...", "variables": {...}}'),
        (b"{", "request body is not valid JSON: Expecting property name enclosed in double quotes"),
        (b'{"query": "{ run }", "variables": [1]}', "variables must be a JSON object"),
    ],
)
async def test_gql_refuses_bodies_it_cannot_read_with_json_400(
    stack: Stack, body: bytes, error: str
) -> None:
    response = await stack.http.post(
        "/v0/gql", content=body, headers={"content-type": "application/json"}
    )
    assert 400 == response.status_code, response.text
    assert response.json()["error"].startswith(error)
