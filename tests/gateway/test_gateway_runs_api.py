"""The REST run API over HTTP (uvicorn) against a real Temporal dev server."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
import temporalio.client
import temporalio.common
import temporalio.exceptions
import temporalio.worker
import uvicorn
from temporalio import workflow

import gateway

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.temporal

FUNCTION_ID = temporalio.common.SearchAttributeKey.for_keyword("InngestFunctionId")
APP_ID = temporalio.common.SearchAttributeKey.for_keyword("InngestAppId")
EVENT_NAME = temporalio.common.SearchAttributeKey.for_keyword("InngestEventName")
EVENT_ID = temporalio.common.SearchAttributeKey.for_keyword("InngestEventId")

T = TypeVar("T")


@workflow.defn(name="gw-app-probe")
class ProbeWorkflow:
    """Completes, fails or waits (until cancelled), as its input says."""

    @workflow.run
    async def run(self, mode: str) -> Any:
        if mode == "complete":
            return {"answer": 42, "items": [1, "two"]}
        if mode == "fail":
            raise temporalio.exceptions.ApplicationError(
                "card declined", type="PaymentError", non_retryable=True
            )
        await workflow.wait_condition(lambda: False)
        return None

    @workflow.query
    def ready(self) -> bool:
        return True


@pytest.fixture(scope="module")
async def task_queue(temporal_client: temporalio.client.Client) -> AsyncIterator[str]:
    queue = f"gw-tests-{uuid.uuid4()}"
    async with temporalio.worker.Worker(
        temporal_client,
        task_queue=queue,
        workflows=[ProbeWorkflow],
        workflow_runner=temporalio.worker.UnsandboxedWorkflowRunner(),
    ):
        yield queue


@pytest.fixture(scope="module")
def gateway_url(temporal_address: str) -> Iterator[str]:
    """The gateway served by uvicorn in a thread (lifespan on), with a recording event router."""
    from gateway_support import RecordingRouter, free_port

    settings = gateway.Settings(
        temporal_address=temporal_address, temporal_connect_timeout_seconds=20
    )
    app = gateway.create_app(settings, router=RecordingRouter())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="gateway-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the gateway did not start under uvicorn (see the captured log)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20) as client:
        yield client


StartRun = Callable[..., Awaitable[temporalio.client.WorkflowHandle[Any, Any]]]


@pytest.fixture
def start_run(temporal_client: temporalio.client.Client, task_queue: str) -> StartRun:
    """Start a probe run (`mode`) as the worker would: workflow id = run id, with the run's
    search attributes (unless `as_run=False`). A waiting run is returned once it waits."""

    async def start(
        mode: str, *, event_id: str | None = None, as_run: bool = True, run_id: str | None = None
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        attributes = (
            [
                temporalio.common.SearchAttributePair(FUNCTION_ID, "gw-app-probe"),
                temporalio.common.SearchAttributePair(APP_ID, "gw-app"),
                temporalio.common.SearchAttributePair(EVENT_NAME, "probe/run"),
                temporalio.common.SearchAttributePair(EVENT_ID, event_id or str(uuid.uuid4())),
            ]
            if as_run
            else []
        )
        handle = await temporal_client.start_workflow(
            ProbeWorkflow.run,
            mode,
            id=run_id or f"run-{uuid.uuid4()}",
            task_queue=task_queue,
            search_attributes=temporalio.common.TypedSearchAttributes(attributes),
        )
        if mode == "wait":
            await handle.query(ProbeWorkflow.ready)  # the worker has run it: it is now waiting
        return handle

    return start


async def assert_eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.1
) -> T:
    """Retry `check` until it stops raising AssertionError (then return its value)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(interval)


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_metadata(body: dict[str, Any]) -> None:
    assert {"fetched_at", "cached_until"} == set(body["metadata"])
    assert body["metadata"]["cached_until"] is None
    fetched = parse_time(body["metadata"]["fetched_at"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - fetched).total_seconds()) < 60


async def test_health_reports_temporal_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert 200 == response.status_code
    assert {"status": 200, "message": "OK", "temporal": "ok"} == response.json()


async def test_send_events_served_by_uvicorn(http: httpx.AsyncClient) -> None:
    response = await http.post("/e/key", json=[{"name": "a"}, {"name": "b"}])
    assert 200 == response.status_code
    assert 2 == len(response.json()["ids"])


async def test_get_run_completed_has_output(http: httpx.AsyncClient, start_run: StartRun) -> None:
    event_id = f"evt-{uuid.uuid4()}"
    handle = await start_run("complete", event_id=event_id)
    await handle.result()
    response = await http.get(f"/v1/runs/{handle.id}")
    assert 200 == response.status_code
    body = response.json()
    assert_metadata(body)
    run = body["data"]
    assert {
        "run_id": handle.id,
        "function_id": "gw-app-probe",
        "function_version": 1,
        "environment_id": "local",
        "event_id": event_id,
        "status": "Completed",
        "output": {"answer": 42, "items": [1, "two"]},
    } == {key: value for key, value in run.items() if key not in ("run_started_at", "ended_at")}
    assert parse_time(run["run_started_at"]) <= parse_time(run["ended_at"])


async def test_run_ids_with_slashes_and_odd_characters_are_served_url_encoded(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    # Run ids are "<fn id>:<event id>"; SDK function ids may hold "/", "%", "?" and unicode.
    done = await start_run("complete", run_id=f"gw-app-invoke/child%$?☃️:{uuid.uuid4()}")
    await done.result()
    response = await http.get(f"/v1/runs/{urllib.parse.quote(done.id, safe='')}")
    assert 200 == response.status_code, response.text
    assert done.id == response.json()["data"]["run_id"]

    waiting = await start_run("wait", run_id=f"gw-app-a/b/c:{uuid.uuid4()}")
    response = await http.delete(f"/v1/runs/{waiting.id}")  # "/" left as is also works
    assert 200 == response.status_code, response.text
    assert waiting.id == response.json()["data"]["run_id"]


async def test_get_run_failed_has_error_output(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    handle = await start_run("fail")
    with pytest.raises(temporalio.client.WorkflowFailureError):
        await handle.result()
    run = (await http.get(f"/v1/runs/{handle.id}")).json()["data"]
    assert ("Failed", "PaymentError", "card declined") == (
        run["status"],
        run["output"]["name"],
        run["output"]["message"],
    )
    assert isinstance(run["output"]["stack"], str)
    assert run["ended_at"] is not None


async def test_get_run_terminated_is_failed(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    handle = await start_run("wait")
    await handle.terminate(reason="operator stopped it")
    run = (await http.get(f"/v1/runs/{handle.id}")).json()["data"]
    assert ("Failed", {"name": "FunctionTerminated", "message": "operator stopped it"}) == (
        run["status"],
        {key: run["output"][key] for key in ("name", "message")},
    )


async def test_get_run_running_has_no_output(http: httpx.AsyncClient, start_run: StartRun) -> None:
    handle = await start_run("wait")
    try:
        run = (await http.get(f"/v1/runs/{handle.id}")).json()["data"]
        assert ("Running", None, None) == (run["status"], run["ended_at"], run["output"])
    finally:
        await handle.terminate()


async def test_get_run_unknown_is_404(http: httpx.AsyncClient) -> None:
    run_id = f"no-such-run-{uuid.uuid4()}"
    response = await http.get(f"/v1/runs/{run_id}")
    assert 404 == response.status_code
    assert {"error": f"run not found: {run_id}", "status": 404} == response.json()


@pytest.mark.parametrize(
    ("method", "path", "field", "error"),
    [
        ("GET", "/v1/runs/", "run_id", "run_id must not be empty"),  # was 502 INVALID_ARGUMENT
        ("DELETE", "/v1/runs/", "run_id", "run_id must not be empty"),
        ("GET", "/v1/runs/a%00b", "run_id", "run_id 'a\\x00b' holds the control character '\\x00'"),
        # was 503 with the visibility store's SQL error
        ("GET", "/v1/events/a%00b/runs", "event_id", "event_id 'a\\x00b' holds the control character"),
        ("GET", "/v1/events/a%C2%85/runs", "event_id", "event_id 'a\\x85' holds the control character"),
    ],
)
async def test_ids_no_run_or_event_can_have_are_400_naming_them(
    http: httpx.AsyncClient, method: str, path: str, field: str, error: str
) -> None:
    response = await http.request(method, path)
    assert 400 == response.status_code, response.text
    assert field == response.json()["field"]
    assert response.json()["error"].startswith(error), response.json()


async def test_get_run_of_workflow_that_is_not_a_run_is_404(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    handle = await start_run("complete", as_run=False)
    await handle.result()
    response = await http.get(f"/v1/runs/{handle.id}")
    assert {"error": f"run not found: {handle.id}", "status": 404} == response.json()


async def test_delete_run_cancels_a_running_run(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    handle = await start_run("wait")
    response = await http.delete(f"/v1/runs/{handle.id}")
    assert 200 == response.status_code
    body = response.json()
    assert_metadata(body)
    assert (handle.id, "Running") == (body["data"]["run_id"], body["data"]["status"])

    async def cancelled() -> dict[str, Any]:
        run: dict[str, Any] = (await http.get(f"/v1/runs/{handle.id}")).json()["data"]
        assert "Cancelled" == run["status"]
        return run

    run = await assert_eventually(cancelled)
    assert (None, True) == (run["output"], run["ended_at"] is not None)

    again = await http.delete(f"/v1/runs/{handle.id}")
    assert 409 == again.status_code
    assert {
        "error": f"run {handle.id} already finished with status Cancelled; only running runs can"
        " be cancelled",
        "status": 409,
    } == again.json()


async def test_delete_run_completed_is_409(http: httpx.AsyncClient, start_run: StartRun) -> None:
    handle = await start_run("complete")
    await handle.result()
    response = await http.delete(f"/v1/runs/{handle.id}")
    assert 409 == response.status_code
    assert "already finished with status Completed" in response.json()["error"]


async def test_delete_run_unknown_is_404(http: httpx.AsyncClient) -> None:
    run_id = f"no-such-run-{uuid.uuid4()}"
    response = await http.delete(f"/v1/runs/{run_id}")
    assert 404 == response.status_code
    assert {"error": f"run not found: {run_id}", "status": 404} == response.json()


async def test_event_runs_lists_the_runs_of_one_event(
    http: httpx.AsyncClient, start_run: StartRun
) -> None:
    event_id = f"evt-{uuid.uuid4()}"
    first = await start_run("complete", event_id=event_id)
    second = await start_run("fail", event_id=event_id)
    await start_run("complete")  # another event's run
    await first.result()
    with pytest.raises(temporalio.client.WorkflowFailureError):
        await second.result()

    async def both_listed() -> dict[str, Any]:
        response = await http.get(f"/v1/events/{event_id}/runs")
        assert 200 == response.status_code
        body: dict[str, Any] = response.json()
        assert {first.id: "Completed", second.id: "Failed"} == {
            run["run_id"]: run["status"] for run in body["data"]
        }
        return body

    body = await assert_eventually(both_listed)
    assert_metadata(body)
    assert {event_id} == {run["event_id"] for run in body["data"]}
    outputs = {run["run_id"]: run["output"] for run in body["data"]}
    assert {"answer": 42, "items": [1, "two"]} == outputs[first.id]
    assert "PaymentError" == outputs[second.id]["name"]


@pytest.mark.parametrize("event_id", ["unknown-event", "it's", "back\\slash", "a' OR 'x' = 'x"])
async def test_event_runs_unknown_or_odd_event_id_is_empty(
    http: httpx.AsyncClient, event_id: str
) -> None:
    response = await http.get(f"/v1/events/{httpx.URL(path=event_id).raw_path.decode()}/runs")
    assert 200 == response.status_code
    assert [] == response.json()["data"]


async def test_lifespan_builds_the_routing_core_from_temporal_worker(
    temporal_address: str,
) -> None:
    """Without an injected router the app routes through temporal_worker's EventRouter."""
    import temporal_worker

    app = gateway.create_app(gateway.Settings(temporal_address=temporal_address))
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.router, temporal_worker.EventRouter)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.post("/e/key", json={"name": "gw/no-function-listens"})
    assert 200 == response.status_code
    (event_id,) = response.json()["ids"]
    assert 26 == len(event_id), "an internal id is a ULID"
    assert (None, None) == (app.state.router, app.state.temporal)
