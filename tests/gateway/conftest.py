"""Gateway test fixtures: a recording event router, in-process clients, a Temporal server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import temporalio.client
from gateway_support import RecordingRouter, free_port

import gateway
from temporal_worker._devserver import DevServer


@pytest.fixture
def recording_router() -> RecordingRouter:
    return RecordingRouter()


@pytest.fixture
def make_http() -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with make_http(app) as http:` an in-process client for the app (no lifespan)."""

    @contextlib.asynccontextmanager
    async def make(app: Any) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http

    return make


@pytest.fixture
async def dev_http(
    recording_router: RecordingRouter,
    make_http: Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a dev-mode app whose router is `recording_router`."""
    app = gateway.create_app(gateway.Settings(mode="dev"), router=recording_router)
    async with make_http(app) as http:
        yield http


@pytest.fixture
def unused_port() -> Callable[[], int]:
    return free_port


@pytest.fixture(scope="module")
async def temporal_address() -> AsyncIterator[str]:
    """A Temporal dev server (in memory, our search attributes registered) for one test module."""
    server = DevServer(port=free_port(), ui=False, data_dir=None)
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop()


@pytest.fixture(scope="module")
async def temporal_client(temporal_address: str) -> temporalio.client.Client:
    return await temporalio.client.Client.connect(temporal_address)
