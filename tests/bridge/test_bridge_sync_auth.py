"""App sync and auth at the gateway: registration shapes, re-sync, unreachable apps, signing keys."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bridge_support import SIGNING_KEY, BridgeStack, SdkApp
from e2e_support import Process, eventually, free_port

pytestmark = pytest.mark.temporal

EVENT_KEY = "bridge-event-key"


def registration(app_id: str, url: str, fn_ids: list[str], *, js: bool = False) -> dict[str, Any]:
    functions = [
        {
            "id": f"{app_id}-{fn}",
            "name": fn,
            "triggers": [{"event": f"{app_id}/{fn}"}],
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "runtime": {"type": "http", "url": f"{url}?fnId={app_id}-{fn}&stepId=step"},
                    "retries": {"attempts": 2},
                }
            },
        }
        for fn in fn_ids
    ]
    names = {"appName": app_id, "deployType": "ping"} if js else {"appname": app_id, "deploy_type": "ping"}
    return {**names, "url": url, "v": "0.1", "sdk": "test:v0", "framework": "test", "functions": functions}


async def dev_functions(bridge: BridgeStack, app_id: str) -> list[str]:
    r = await bridge.http.get("/dev")
    assert 200 == r.status_code, r.text
    return sorted(f["id"] for f in r.json()["functions"] if f["app_id"] == app_id)


async def test_bridge_register_accepts_both_spellings_and_a_resync_replaces_the_set(
    bridge: BridgeStack, fastapi_app: SdkApp
) -> None:
    app_id = f"hand-{uuid.uuid4().hex[:8]}"
    r = await bridge.http.post("/fn/register", json=registration(app_id, fastapi_app.url, ["a", "b"]))
    assert 200 == r.status_code, r.text
    body = r.json()
    assert (True, True, app_id) == (body["ok"], body["modified"], body["app_id"])
    assert [f"{app_id}-a", f"{app_id}-b"] == await dev_functions(bridge, app_id)

    r = await bridge.http.post("/fn/register", json=registration(app_id, fastapi_app.url, ["b"], js=True))
    assert 200 == r.status_code, r.text
    assert [f"{app_id}-b"] == await dev_functions(bridge, app_id)
    r = await bridge.http.post("/fn/register", json=registration(app_id, fastapi_app.url, ["b"], js=True))
    assert False is r.json()["modified"]


async def test_bridge_register_with_an_unreachable_url_is_refused_clearly(bridge: BridgeStack) -> None:
    app_id = f"gone-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{free_port()}/api/inngest"
    r = await bridge.http.post("/fn/register", json=registration(app_id, url, ["a"]))
    assert 400 == r.status_code
    assert r.json()["error"].startswith(f"cannot reach the app at {url}")
    assert [] == await dev_functions(bridge, app_id)

    r = await bridge.http.post("/fn/sync", json={"url": url})
    assert 400 == r.status_code
    assert r.json()["error"].startswith(f"cannot reach the app at {url}")


async def test_bridge_sync_of_a_url_that_is_not_an_sdk_says_so(bridge: BridgeStack) -> None:
    r = await bridge.http.post("/fn/sync", json={"url": f"{bridge.gateway_url}/health"})
    assert 400 == r.status_code
    assert "not an Inngest SDK endpoint" in r.json()["error"]


async def test_bridge_register_refuses_a_bad_payload_naming_the_field(bridge: BridgeStack) -> None:
    r = await bridge.http.post("/fn/register", json={"url": "http://127.0.0.1:1/api/inngest", "functions": []})
    assert 400 == r.status_code
    assert "appName (or appname)" in r.json()["error"]
    r = await bridge.http.post("/fn/register", json={"appName": "no-url", "functions": []})
    assert (400, "url") == (r.status_code, r.json().get("field")), r.text
    assert "url is missing" in r.json()["error"]


# -- production mode: signing keys ------------------------------------------------------------


@pytest.fixture(scope="module")
async def prod_gateway(bridge: BridgeStack) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **bridge.env,
        "GATEWAY_MODE": "production",
        "GATEWAY_EVENT_KEYS": EVENT_KEY,
        "GATEWAY_SIGNING_KEYS": SIGNING_KEY,
    }
    gateway = Process("bridge-prod-gateway", [sys.executable, "-m", "gateway", "--port", str(port)], env, bridge.base)
    gateway.start()
    url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{url}/health")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await eventually(up, timeout=60, what="the production gateway")
        yield url
    finally:
        gateway.stop()


def hashed(key: str) -> str:
    return hashlib.sha256(bytes.fromhex(key.removeprefix("signkey-test-"))).hexdigest()


async def test_bridge_production_register_needs_the_signing_key(
    bridge: BridgeStack, prod_gateway: str, fastapi_app: SdkApp
) -> None:
    app_id = f"prod-{uuid.uuid4().hex[:8]}"
    body = registration(app_id, fastapi_app.url, ["a"])
    async with httpx.AsyncClient(base_url=prod_gateway, timeout=30) as http:
        assert 401 == (await http.post("/fn/register", json=body)).status_code
        wrong = {"authorization": "Bearer " + "00" * 32}
        r = await http.post("/fn/register", json=body, headers=wrong)
        assert 401 == r.status_code
        assert "signing key" in r.json()["error"]
        assert 401 == (await http.post("/fn/sync", json={"url": fastapi_app.url})).status_code
        assert 404 == (await http.get("/dev")).status_code
    assert [] == await dev_functions(bridge, app_id)  # nothing was synced
    async with httpx.AsyncClient(base_url=prod_gateway, timeout=30) as http:
        for token in (hashed(SIGNING_KEY), f"signkey-test-{hashed(SIGNING_KEY)}", SIGNING_KEY):
            r = await http.post("/fn/register", json=body, headers={"authorization": f"Bearer {token}"})
            assert 200 == r.status_code, r.text
    assert [f"{app_id}-a"] == await dev_functions(bridge, app_id)


async def test_bridge_cloud_mode_app_runs_with_signed_requests(
    bridge: BridgeStack, prod_gateway: str
) -> None:
    app = SdkApp.python(bridge, "fastapi", app_id="bridge-cloud")
    app.process.env.pop("INNGEST_DEV", None)
    app.process.env.update(
        {"INNGEST_BASE_URL": prod_gateway, "INNGEST_SIGNING_KEY": SIGNING_KEY, "INNGEST_EVENT_KEY": EVENT_KEY}
    )
    app.start()
    try:
        async def listening() -> bool:
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.get(app.url)).status_code == 401  # cloud mode: unsigned GET refused
            except httpx.TransportError:
                return False

        await eventually(listening, timeout=60, what="the cloud-mode app")
        auth = {"authorization": f"Bearer {hashed(SIGNING_KEY)}"}
        async with httpx.AsyncClient(base_url=prod_gateway, timeout=60) as http:
            r = await http.post("/fn/sync", json={"url": app.url}, headers=auth)
            assert 200 == r.status_code, r.text
            assert 401 == (await http.post("/e/not-a-key", json={"name": app.event("steps"), "data": {"n": 1}})).status_code
            r = await http.post(f"/e/{EVENT_KEY}", json={"name": app.event("steps"), "data": {"n": 1}})
            assert 200 == r.status_code, r.text
            (event_id,) = r.json()["ids"]

            async def finished() -> dict[str, Any] | None:
                runs = (await http.get(f"/v1/events/{event_id}/runs", headers=auth)).json()["data"]
                return runs[0] if runs and runs[0]["status"] != "Running" else None

            run = await eventually(finished, timeout=60, what="the cloud-mode run")
        assert "Completed" == run["status"], run
        assert {"a": 2, "b": 4, "run_id": run["run_id"]} == run["output"]
        # The same call without our signature is refused by the app.
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(
                f"{app.url}?fnId={app.fn('steps')}&stepId=step",
                json={"event": {"name": "x", "data": {}, "id": "1", "ts": 1}, "events": [], "steps": {},
                      "ctx": {"run_id": "r", "attempt": 0, "disable_immediate_execution": False,
                              "stack": {"stack": []}}, "use_api": False},
                headers={"x-inngest-signature": "t=1&s=00"},
            )
            assert 401 == r.status_code
    finally:
        print(app.process.tail())
        app.process.stop()


async def test_an_sdk_app_and_a_worker_app_cannot_share_an_app_id(
    bridge: BridgeStack, fastapi_app: SdkApp, tmp_path: Path
) -> None:
    """An SDK app synced with a worker app's id replaced its functions (their events then started
    nothing) and a worker serving a bridged app's id replaced it: both are refused, naming it."""
    import temporal_worker

    native_id = f"native-{uuid.uuid4().hex[:8]}"
    native = temporal_worker.AppSpec(
        app_id=native_id, task_queue=f"inngest:{native_id}",
        functions=[temporal_worker.FunctionSpec(
            id=f"{native_id}-fn", app_id=native_id, name="fn", task_queue=f"inngest:{native_id}",
            triggers=[temporal_worker.TriggerSpec(event=f"{native_id}/go")],
        )],
    )
    await temporal_worker.sync_app(bridge.client, native)
    r = await bridge.http.post("/fn/register", json=registration(native_id, fastapi_app.url, ["a"]))
    assert 409 == r.status_code, r.text
    assert r.json()["error"].startswith(f"app id '{native_id}' belongs to functions a worker serves")
    assert [f"{native_id}-fn"] == await dev_functions(bridge, native_id)

    bridged_id = f"sdk-{uuid.uuid4().hex[:8]}"
    r = await bridge.http.post("/fn/register", json=registration(bridged_id, fastapi_app.url, ["a"]))
    assert 200 == r.status_code, r.text
    (tmp_path / "clash_app.py").write_text(
        "from compat import inngest\n"
        f"client = inngest.Inngest(app_id={bridged_id!r})\n"
        f"@client.create_function(fn_id='mine', trigger=inngest.TriggerEvent(event='{bridged_id}/x'))\n"
        "async def mine(ctx: inngest.Context) -> None:\n"
        "    return None\n"
    )
    env = {**bridge.env, "PYTHONPATH": f"{tmp_path}:{bridge.env.get('PYTHONPATH', '')}"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "temporal_worker", "worker", "--app", "clash_app",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(worker.communicate(), 60)
    assert 0 != worker.returncode, out.decode()
    assert f"app id '{bridged_id}' belongs to an SDK app served over HTTP" in out.decode()
    assert [f"{bridged_id}-a"] == await dev_functions(bridge, bridged_id)
