"""The app factory, lifespan, health without Temporal, OpenAPI, logging and exports."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import temporalio.client

import gateway
from gateway import _errors, _routing


def test_gateway_exports() -> None:
    expected = ["EventSender", "Settings", "create_app", "get_settings", "run"]
    assert expected == sorted(gateway.__all__)
    assert all(hasattr(gateway, name) for name in expected)


def test_error_tree_statuses() -> None:
    assert {
        "BadRequestError": 400,
        "InvalidEventError": 400,
        "UnauthorizedError": 401,
        "NotFoundError": 404,
        "RunNotFoundError": 404,
        "RunFinishedError": 409,
        "ConflictError": 409,
        "PayloadTooLargeError": 413,
        "RoutingError": 500,
        "UpstreamError": 502,
        "ServiceUnavailableError": 503,
    } == {
        cls.__name__: cls.status
        for cls in vars(_errors).values()
        if isinstance(cls, type) and issubclass(cls, _errors.APIError)
        if cls is not _errors.APIError
    }


async def test_openapi_documents_every_route(dev_http: httpx.AsyncClient) -> None:
    schema = (await dev_http.get("/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert {
        ("POST", "/e/{event_key}"),
        ("GET", "/v1/events/{event_id}/runs"),
        ("GET", "/v1/runs/{run_id}"),
        ("DELETE", "/v1/runs/{run_id}"),
        ("GET", "/health"),
    } == set(operations)
    for key, operation in operations.items():
        assert operation.get("description"), f"{key} has no description"
        assert "$ref" in operation["responses"]["200"]["content"]["application/json"]["schema"], key
    request_body = operations[("POST", "/e/{event_key}")]["requestBody"]
    assert 2 == len(request_body["content"]["application/json"]["schema"]["oneOf"])
    assert 200 == (await dev_http.get("/docs")).status_code


async def test_health_without_lifespan_is_503(dev_http: httpx.AsyncClient) -> None:
    response = await dev_http.get("/health")
    assert 503 == response.status_code
    assert {
        "status": 503,
        "message": "Temporal unreachable",
        "temporal": "not connected (the app's lifespan has not run)",
    } == response.json()


async def test_health_with_unreachable_temporal_is_503(
    recording_router: Any, make_http: Callable[..., Any], unused_port: Callable[[], int]
) -> None:
    app = gateway.create_app(gateway.Settings(), router=recording_router)
    app.state.temporal = await temporalio.client.Client.connect(
        f"127.0.0.1:{unused_port()}", lazy=True
    )
    async with make_http(app) as http:
        response = await http.get("/health")
    body = response.json()
    assert (503, 503, "Temporal unreachable") == (
        response.status_code,
        body["status"],
        body["message"],
    )
    assert body["temporal"]


async def test_lifespan_gives_up_with_clear_error(
    recording_router: Any, unused_port: Callable[[], int], caplog: pytest.LogCaptureFixture
) -> None:
    address = f"127.0.0.1:{unused_port()}"
    settings = gateway.Settings(temporal_address=address, temporal_connect_timeout_seconds=1.0)
    app = gateway.create_app(settings, router=recording_router)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(_errors.StartupError) as info:
            async with app.router.lifespan_context(app):
                pass
    assert f"cannot connect to Temporal at {address} (namespace 'default') within 1 s" in str(
        info.value
    )
    assert "GATEWAY_TEMPORAL_ADDRESS" in str(info.value)
    retries = [
        record
        for record in caplog.records
        if record.getMessage() == "Temporal not reachable yet, retrying"
    ]
    assert retries, "each failed attempt is logged"
    assert address == retries[0].address  # type: ignore[attr-defined]


def test_build_router_uses_temporal_worker_public_face(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    class Registry:
        def __init__(self, client: Any, *, ttl: float = 1.0) -> None:
            built["registry"] = (client, ttl)

    class EventRouter:
        def __init__(self, client: Any, registry: Registry) -> None:
            built["router"] = (client, registry)

        async def send(self, events: list[dict[str, Any]], *, ids: list[str] | None = None) -> list[str]:
            return []

    fake = types.ModuleType("temporal_worker")
    fake.Registry = Registry  # type: ignore[attr-defined]
    fake.EventRouter = EventRouter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "temporal_worker", fake)
    client: Any = object()
    router = _routing.build_router(client, gateway.Settings(registry_ttl_seconds=2.5))
    assert isinstance(router, EventRouter)
    assert isinstance(router, gateway.EventSender)
    assert (client, 2.5) == built["registry"]
    assert client is built["router"][0]


def test_build_router_without_exports_is_a_startup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "temporal_worker", types.ModuleType("temporal_worker"))
    with pytest.raises(_errors.StartupError, match="does not export Registry and EventRouter"):
        _routing.build_router(object(), gateway.Settings())  # type: ignore[arg-type]


def test_main_help_lists_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from gateway import __main__ as entry

    with pytest.raises(SystemExit) as info:
        entry.main(["--help"])
    assert 0 == info.value.code
    out = capsys.readouterr().out
    assert all(flag in out for flag in ("--host", "--port", "--log-level"))


async def test_an_unexpected_error_is_answered_as_json_and_logged(
    recording_router: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Not Starlette's plain-text 'Internal Server Error': the usual JSON body, naming the cause."""
    app = gateway.create_app(gateway.Settings(mode="dev"), router=recording_router)

    async def boom() -> None:
        raise KeyError("lost")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        with caplog.at_level(logging.ERROR, logger="gateway._errors"):
            response = await http.get("/boom")
    assert 500 == response.status_code
    assert {
        "error": "internal error while answering GET /boom: KeyError: 'lost'",
        "status": 500,
    } == response.json()
    (record,) = [r for r in caplog.records if r.getMessage() == "request failed unexpectedly"]
    assert record.exc_info is not None and record.exc_info[0] is KeyError
