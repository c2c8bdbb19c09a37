"""`POST /e/{event_key}` in-process, with a recording router (no Temporal needed)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import temporalio.service

import gateway

if TYPE_CHECKING:
    from gateway_support import RecordingRouter


async def test_send_events_one_event_answers_its_id(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post("/e/any-key", json={"name": "app/a", "data": {"x": 1}})
    assert 200 == response.status_code
    assert {"ids": ["evt-0"], "status": 200} == response.json()
    assert [[{"name": "app/a", "data": {"x": 1}, "id": "", "ts": 0}]] == recording_router.calls


async def test_send_events_array_answers_ids_in_order(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    events = [{"name": f"app/{n}", "ts": 1_704_067_200_000 + n} for n in range(3)]
    response = await dev_http.post("/e/key", json=events)
    assert {"ids": ["evt-0", "evt-1", "evt-2"], "status": 200} == response.json()
    assert ["app/0", "app/1", "app/2"] == [event["name"] for event in recording_router.sent]
    assert 1 == len(recording_router.calls), "one routing call per request"


async def test_send_events_normalises_data_and_keeps_optional_fields(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    event = {"name": "a", "data": {"_inngest": {"x": 1}, "k": 2}, "v": "1", "user": {"u": 1}}
    await dev_http.post("/e/key", json=[event, {"name": "b", "data": None}])
    assert [
        {"name": "a", "data": {"k": 2}, "id": "", "ts": 0, "v": "1", "user": {"u": 1}},
        {"name": "b", "data": {}, "id": "", "ts": 0},
    ] == recording_router.sent


async def test_send_events_empty_array_sends_nothing(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post("/e/key", json=[])
    assert {"ids": [], "status": 200} == response.json()
    assert [] == recording_router.calls


async def test_send_events_partial_list_sends_events_before_the_bad_one(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post(
        "/e/key",
        json=[{"name": "ok/1"}, {"name": "bad", "data": [1]}, {"name": "ok/2"}, {"name": ""}],
    )
    assert 400 == response.status_code
    assert {
        "error": "event[1].data must be a JSON object, got list",
        "status": 400,
        "field": "event[1].data",
        "ids": ["evt-0"],
    } == response.json()
    assert ["ok/1"] == [event["name"] for event in recording_router.sent]


async def test_send_events_first_event_bad_sends_nothing(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post("/e/key", json=[{"name": "inngest/x"}, {"name": "ok"}])
    assert 400 == response.status_code
    body = response.json()
    assert ([], "event[0].name") == (body["ids"], body["field"])
    assert body["error"].startswith('event[0].name "inngest/x" is reserved')
    assert [] == recording_router.calls


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"name": "a"', "request body is not valid JSON"),
        (b"", "request body is empty"),
        (b'"a"', "got string"),
    ],
)
async def test_send_events_unusable_body_is_400_and_sends_nothing(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter, content: bytes, fragment: str
) -> None:
    response = await dev_http.post("/e/key", content=content)
    body = response.json()
    assert (400, 400, []) == (response.status_code, body["status"], body["ids"])
    assert fragment in body["error"]
    assert [] == recording_router.calls


async def test_send_events_too_many_events_is_413(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post("/e/key", json=[{"name": "a"}] * 5001)
    assert 413 == response.status_code
    assert "5001 events; the limit is 5000" in response.json()["error"]
    assert [] == recording_router.calls


@pytest.fixture
async def small_body_http(
    recording_router: RecordingRouter,
    make_http: Callable[..., Any],
) -> AsyncIterator[httpx.AsyncClient]:
    app = gateway.create_app(gateway.Settings(max_body_bytes=100), router=recording_router)
    async with make_http(app) as http:
        yield http


async def test_send_events_declared_length_over_limit_is_413(
    small_body_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    content = json.dumps({"name": "a", "data": {"x": "y" * 100}}).encode()
    assert 132 == len(content)
    response = await small_body_http.post("/e/key", content=content)
    assert 413 == response.status_code
    assert {
        "error": "request body is 132 bytes; the limit is 100 bytes (GATEWAY_MAX_BODY_BYTES):"
        " send fewer or smaller events per request",
        "status": 413,
        "ids": [],
    } == response.json()
    assert [] == recording_router.calls


async def test_send_events_streamed_body_over_limit_is_413(
    small_body_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    chunks_read: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b'{"name": "a", "data": {"x": "'
        for n in range(1000):
            chunks_read.append(n)
            yield b"y" * 50
        yield b'"}}'

    response = await small_body_http.post("/e/key", content=body())
    assert 413 == response.status_code
    assert "request body is over 100 bytes" in response.json()["error"]
    assert len(chunks_read) < 10, "the body is not read past the limit"
    assert [] == recording_router.calls


async def test_send_events_body_at_limit_is_accepted(
    small_body_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    content = json.dumps({"name": "a", "data": {"x": "y" * 60}}).encode()
    assert len(content) < 100
    content += b" " * (100 - len(content))
    response = await small_body_http.post("/e/key", content=content)
    assert 200 == response.status_code
    assert 1 == len(recording_router.sent)


async def test_send_events_invalid_content_length_is_400(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post(
        "/e/key", content=b'{"name": "a"}', headers={"content-length": "lots"}
    )
    assert 400 == response.status_code
    assert "Content-Length" == response.json()["field"]


async def test_send_events_same_event_id_three_times_all_answer_200(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    """C01: every send answers 200 with ids; the router gets the user id to dedup runs by."""
    event = {"name": "order/placed", "id": "ord-7", "data": {}}
    responses = [await dev_http.post("/e/key", json=event) for _ in range(3)]
    assert [200, 200, 200] == [response.status_code for response in responses]
    assert [["evt-0"], ["evt-1"], ["evt-2"]] == [response.json()["ids"] for response in responses]
    assert ["ord-7"] * 3 == [event["id"] for event in recording_router.sent]


async def test_send_events_dev_mode_accepts_missing_key(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post("/e/", json={"name": "a"})
    assert {"ids": ["evt-0"], "status": 200} == response.json()


@pytest.mark.parametrize(
    ("error", "status", "fragment"),
    [
        (
            temporalio.service.RPCError(
                "connection refused", temporalio.service.RPCStatusCode.UNAVAILABLE, b""
            ),
            503,
            "Temporal error while routing events: UNAVAILABLE: connection refused",
        ),
        (
            temporalio.service.RPCError(
                "bad", temporalio.service.RPCStatusCode.INVALID_ARGUMENT, b""
            ),
            502,
            "INVALID_ARGUMENT: bad",
        ),
        (ValueError("no registry"), 500, "routing events failed: ValueError: no registry"),
    ],
)
async def test_send_events_router_failure_maps_to_5xx(
    dev_http: httpx.AsyncClient,
    recording_router: RecordingRouter,
    error: BaseException,
    status: int,
    fragment: str,
) -> None:
    recording_router.error = error
    response = await dev_http.post("/e/key", json={"name": "a"})
    assert status == response.status_code
    body = response.json()
    assert status == body["status"]
    assert fragment in body["error"]


async def test_send_events_logs_one_structured_line(
    dev_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        await dev_http.post("/e/key", json=[{"name": "b"}, {"name": "a"}, {"name": "b"}])
    records = [record for record in caplog.records if record.name.startswith("gateway")]
    assert ["events accepted"] == [record.getMessage() for record in records]
    record = records[0]
    assert (3, ["a", "b"], ["evt-0", "evt-1", "evt-2"], 200) == (
        record.event_count,  # type: ignore[attr-defined]
        record.event_names,  # type: ignore[attr-defined]
        record.event_ids,  # type: ignore[attr-defined]
        record.status,  # type: ignore[attr-defined]
    )
    assert isinstance(record.duration_ms, float)  # type: ignore[attr-defined]


async def test_send_events_rejection_is_logged_as_warning(
    dev_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        await dev_http.post("/e/key", json=[{"name": "a"}, {"name": 1}])
    records = [record for record in caplog.records if record.name.startswith("gateway")]
    assert [("events rejected", logging.WARNING)] == [
        (record.getMessage(), record.levelno) for record in records
    ]
    assert ["evt-0"] == records[0].event_ids  # type: ignore[attr-defined]


async def test_unknown_route_is_inngest_shaped_404(dev_http: httpx.AsyncClient) -> None:
    response = await dev_http.get("/nope")
    assert 404 == response.status_code
    assert {"error": "no route for GET /nope", "status": 404} == response.json()


async def test_wrong_method_is_inngest_shaped_405(dev_http: httpx.AsyncClient) -> None:
    response = await dev_http.get("/e/key")
    assert 405 == response.status_code
    assert {"error": "Method Not Allowed", "status": 405} == response.json()


async def test_events_routing_failure_answers_ids_of_events_already_routed(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    """When Temporal fails part-way, the 5xx body lists the ids whose runs did start."""
    import temporal_worker

    recording_router.error = temporal_worker.RoutingError("routing event[1] failed", ["evt-a"])
    r = await dev_http.post("/e/key", json=[{"name": "a/b"}, {"name": "a/c"}])
    assert 500 == r.status_code
    assert ["evt-a"] == r.json()["ids"]


async def test_send_events_with_an_event_id_seed_answers_the_seeded_ids(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    seed = "1743130137367,eii2YKXRVTJPuA=="  # what the Inngest SDKs send
    events = [{"name": "app/a"}, {"name": "app/b"}]
    first = await dev_http.post("/e/key", json=events, headers={"x-inngest-event-id-seed": seed})
    again = await dev_http.post("/e/key", json=events, headers={"x-inngest-event-id-seed": seed})
    assert first.status_code == 200 and first.json() == again.json()
    assert first.json()["ids"] == gateway._validate.seeded_event_ids(seed, 2)


async def test_send_events_with_a_malformed_seed_is_400_and_sends_nothing(
    dev_http: httpx.AsyncClient, recording_router: RecordingRouter
) -> None:
    response = await dev_http.post(
        "/e/key", json={"name": "app/a"}, headers={"x-inngest-event-id-seed": "yesterday"}
    )
    assert response.status_code == 400
    assert "x-inngest-event-id-seed" in response.json()["error"]
    assert recording_router.calls == []
