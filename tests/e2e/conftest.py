"""The end-to-end stack: Temporal dev server + worker process + gateway process, once per session."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import temporal_worker
from e2e_support import HERE, REPO, Process, Stack, eventually, free_port

from temporal_worker._devserver import DevServer


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    base = tmp_path_factory.mktemp("stack")
    records = base / "records"
    records.mkdir()
    server = DevServer(port=free_port(), ui=False, data_dir=None)
    await server.start()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": server.address,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)]),
        "CASE_RECORD_DIR": str(records),
        # Short retry backoff and heartbeat timeout keep the suite fast (defaults: 15 s and 30 s).
        "INNGEST_TEMPORAL_RETRY_INITIAL_INTERVAL": "1s",
        "INNGEST_TEMPORAL_HEARTBEAT_TIMEOUT": "2s",
        "INNGEST_TEMPORAL_PAYLOAD_STORE": f"file://{base / 'payloads'}",
        "INNGEST_TEMPORAL_MAX_STEPS": "100",
        # Runs longer than this continue as new (tested with 60-step runs; other cases stay below).
        "INNGEST_TEMPORAL_CONTINUE_AS_NEW_AFTER_STEPS": "25",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ["INNGEST_TEMPORAL_PAYLOAD_STORE"] = env["INNGEST_TEMPORAL_PAYLOAD_STORE"]
    client = await temporal_worker.connect(target_host=server.address)  # same payload store
    port = free_port()
    worker = Process("worker", [sys.executable, "-m", "temporal_worker", "worker", "--app", "case_app"], env, base)
    gateway = Process("gateway", [sys.executable, "-m", "gateway", "--port", str(port)], env, base)
    worker.start()
    gateway.start()
    s = Stack(server, client, f"http://127.0.0.1:{port}", worker, gateway, records)
    try:
        async def gateway_up() -> bool:
            try:
                return (await s.http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False
        await eventually(gateway_up, timeout=60, what="gateway /health")

        async def app_synced() -> bool:
            query = "WorkflowType = 'InngestApp' AND ExecutionStatus = 'Running'"
            return any([wf.id == "inngest-app:cases" async for wf in client.list_workflows(query)])
        await eventually(app_synced, timeout=60, what="worker to sync app 'cases'")
        await asyncio.sleep(1.2)  # let the gateway's registry cache (ttl 1 s) pick the app up
        yield s
    except BaseException:
        print("--- worker log ---\n" + worker.tail() + "\n--- gateway log ---\n" + gateway.tail())
        raise
    finally:
        await s.http.aclose()
        worker.stop()
        gateway.stop()
        await server.stop()
