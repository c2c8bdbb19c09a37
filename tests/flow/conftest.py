"""The flow-control stack: its own Temporal dev server, worker process (serving flow_app.py) and
gateway process, once per session. Helpers come from tests/e2e/e2e_support.py."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import REPO, Process, eventually, free_port
from flow_support import FlowStack, gateway_up

import temporal_worker
from temporal_worker._devserver import DevServer

FLOW_DIR = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
async def flow(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FlowStack]:
    base = tmp_path_factory.mktemp("flow")
    records = base / "records"
    records.mkdir()
    server = DevServer(port=free_port(), ui=False, data_dir=None)
    await server.start()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": server.address,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(FLOW_DIR)]),
        "FLOW_RECORD_DIR": str(records),
        "INNGEST_TEMPORAL_RETRY_INITIAL_INTERVAL": "1s",
        "INNGEST_TEMPORAL_HEARTBEAT_TIMEOUT": "2s",
        "INNGEST_TEMPORAL_PAYLOAD_STORE": f"file://{base / 'payloads'}",
        # Entities continue as new every 3 updates, so every test also crosses continue-as-new.
        "INNGEST_TEMPORAL_FLOW_CONTINUE_AS_NEW_AFTER": "3",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ["INNGEST_TEMPORAL_PAYLOAD_STORE"] = env["INNGEST_TEMPORAL_PAYLOAD_STORE"]
    client = await temporal_worker.connect(target_host=server.address)
    port = free_port()
    worker = Process("flow-worker", [sys.executable, "-m", "temporal_worker", "worker", "--app", "flow_app"], env, base)
    gateway = Process("flow-gateway", [sys.executable, "-m", "gateway", "--port", str(port)], env, base)
    worker.start()
    gateway.start()
    s = FlowStack(server, client, f"http://127.0.0.1:{port}", worker, gateway, records)
    try:
        await eventually(lambda: gateway_up(s.http), timeout=60, what="gateway /health")

        async def app_synced() -> bool:
            query = "WorkflowType = 'InngestApp' AND ExecutionStatus = 'Running'"
            return any([wf.id == "inngest-app:flow" async for wf in client.list_workflows(query)])

        await eventually(app_synced, timeout=60, what="worker to sync app 'flow'")
        await asyncio.sleep(1.2)  # the gateway's registry cache (ttl 1 s)
        yield s
    except BaseException:
        print("--- worker log ---\n" + worker.tail() + "\n--- gateway log ---\n" + gateway.tail())
        raise
    finally:
        await s.http.aclose()
        worker.stop()
        gateway.stop()
        await server.stop()
