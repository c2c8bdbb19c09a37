"""The bridge stack: Temporal dev server + gateway + bridge worker, and stock SDK apps on free ports.

Apps are the stock `inngest` SDK from PyPI (FastAPI and Flask flavours of tests/bridge/py_app.py)
and the stock npm `inngest` (tests/bridge/ts_app), each a subprocess synced through the gateway.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import temporalio.client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import REPO, Process, eventually, free_port  # noqa: E402

from bridge_support import SIGNING_KEY, BridgeStack, SdkApp  # noqa: E402
from temporal_worker._devserver import DevServer  # noqa: E402

HERE = Path(__file__).resolve().parent
# Apps whose steps the session's bridge runs inline (Inngest's exact call sequence).
INLINE_APPS = ("parity-inline-fastapi", "parity-inline-flask", "bridge-ts-inline")


async def _http_up(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            await http.get(url)
        return True
    except httpx.TransportError:
        return False


@pytest.fixture(scope="session")
async def bridge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BridgeStack]:
    base = tmp_path_factory.mktemp("bridge")
    records = base / "records"
    records.mkdir()
    server = DevServer(port=free_port(), ui=False, data_dir=None)
    await server.start()
    client = await temporalio.client.Client.connect(server.address)
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": server.address,
        "PYTHONPATH": str(REPO),
        "INNGEST_TEMPORAL_RETRY_INITIAL_INTERVAL": "1s",
        "INNGEST_TEMPORAL_HEARTBEAT_TIMEOUT": "5s",
        "PYTHONUNBUFFERED": "1",
    }
    # No payload store here (the e2e stack sets one in this process for its own use).
    for name in ("INNGEST_SIGNING_KEY", "INNGEST_SIGNING_KEY_FALLBACK", "INNGEST_DEV", "GATEWAY_MODE",
                 "INNGEST_TEMPORAL_PAYLOAD_STORE"):
        env.pop(name, None)
    port = free_port()
    gateway = Process("bridge-gateway", [sys.executable, "-m", "gateway", "--port", str(port)], env, base)
    # The bridge signs every call; apps in dev mode do not check, apps in cloud mode must.
    worker_env = {**env, "INNGEST_SIGNING_KEY": SIGNING_KEY, "INNGEST_TEMPORAL_SDK_INLINE_STEPS": ",".join(INLINE_APPS)}
    worker = Process("bridge-worker", [sys.executable, "-m", "temporal_worker", "bridge"], worker_env, base)
    gateway.start()
    worker.start()
    stack = BridgeStack(server, client, f"http://127.0.0.1:{port}", gateway, worker, records, base, env)
    try:
        await eventually(lambda: _http_up(f"{stack.gateway_url}/health"), timeout=60, what="gateway")
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        await stack.aclose()
        worker.stop()
        gateway.stop()
        await server.stop()


async def _start_app(bridge: BridgeStack, app: SdkApp) -> SdkApp:
    app.start()
    await eventually(lambda: _http_up(app.url), timeout=60, what=f"{app.name} to listen")
    await bridge.sync(app.url)
    return app


async def _serving(bridge: BridgeStack, *apps: SdkApp) -> AsyncIterator[None]:
    """Start and sync `apps` for a fixture; their log tails are printed if anything fails."""
    try:
        for app in apps:
            await _start_app(bridge, app)
        yield
    except BaseException:
        for app in apps:
            print(app.process.tail())
        raise
    finally:
        for app in apps:
            app.process.stop()


@pytest.fixture(scope="session")
async def fastapi_app(bridge: BridgeStack) -> AsyncIterator[SdkApp]:
    app = SdkApp.python(bridge, "fastapi")
    async for _ in _serving(bridge, app):
        yield app


@pytest.fixture(scope="session")
async def flask_app(bridge: BridgeStack) -> AsyncIterator[SdkApp]:
    app = SdkApp.python(bridge, "flask")
    async for _ in _serving(bridge, app):
        yield app


async def _ts_app(bridge: BridgeStack, app_id: str) -> AsyncIterator[SdkApp]:
    if not (HERE / "ts_app" / "node_modules" / "inngest").is_dir():
        pytest.fail(
            "tests/bridge/ts_app has no node_modules: run `npm ci --prefix tests/bridge/ts_app` "
            "(make test does)"
        )
    app = SdkApp.node(bridge, app_id=app_id)
    async for _ in _serving(bridge, app):
        yield app


@pytest.fixture(scope="session")
async def ts_app(bridge: BridgeStack) -> AsyncIterator[SdkApp]:
    async for app in _ts_app(bridge, "bridge-ts"):
        yield app


@pytest.fixture(scope="session")
async def ts_inline_app(bridge: BridgeStack) -> AsyncIterator[SdkApp]:
    """The same TypeScript app, synced under an app id whose steps the bridge runs inline."""
    async for app in _ts_app(bridge, INLINE_APPS[2]):
        yield app


@pytest.fixture(params=["fastapi", "flask"])
def py_app(request: pytest.FixtureRequest) -> SdkApp:
    app: SdkApp = request.getfixturevalue(f"{request.param}_app")
    return app


@pytest.fixture(scope="session")
async def parity_apps(bridge: BridgeStack) -> AsyncIterator[dict[str, SdkApp]]:
    """tests/bridge/parity_app.py three times: inline (FastAPI, Flask) and default (FastAPI)."""
    apps = {
        "inline-fastapi": SdkApp.python(bridge, "fastapi", app_id=INLINE_APPS[0], script="parity_app.py"),
        "inline-flask": SdkApp.python(bridge, "flask", app_id=INLINE_APPS[1], script="parity_app.py"),
        "activity-fastapi": SdkApp.python(bridge, "fastapi", app_id="parity-fastapi", script="parity_app.py"),
    }
    async for _ in _serving(bridge, *apps.values()):
        yield apps


@pytest.fixture(scope="session")
async def cases_app(bridge: BridgeStack) -> AsyncIterator[SdkApp]:
    """tests/bridge/cases_app.py (FastAPI): one function per behaviour of the SDK's contract."""
    app = SdkApp.python(bridge, "fastapi", app_id="bridge-cases", script="cases_app.py")
    async for _ in _serving(bridge, app):
        yield app


@pytest.fixture(params=["activity", "inline"])
def ts_any_app(request: pytest.FixtureRequest) -> SdkApp:
    """The TypeScript app in each step mode (the mode is the test id's suffix)."""
    app: SdkApp = request.getfixturevalue("ts_app" if request.param == "activity" else "ts_inline_app")
    return app
