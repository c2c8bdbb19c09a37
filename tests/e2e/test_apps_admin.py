"""`inngest-temporal apps list|remove`: an app no worker serves can be unregistered."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import temporal_worker
from e2e_support import REPO, Stack, eventually

pytestmark = pytest.mark.temporal


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "temporal_worker", "apps", *args],
        cwd=REPO, env=stack.worker.env, capture_output=True, text=True, timeout=60,
    )


async def test_apps_remove_stops_routing_to_a_stale_app(stack: Stack) -> None:
    app = temporal_worker.AppSpec(
        app_id="stale",
        task_queue="inngest:stale",
        functions=[
            temporal_worker.FunctionSpec(
                id="stale-fn", app_id="stale", name="fn", task_queue="inngest:stale",
                triggers=[temporal_worker.TriggerSpec(event="stale/ping")],
            )
        ],
    )
    await temporal_worker.sync_app(stack.client, app)

    async def listed() -> bool:
        return "stale-fn" in (await asyncio.to_thread(_cli, stack, "list")).stdout

    await eventually(listed, timeout=20, what="the stale app in `apps list`")
    removed = await asyncio.to_thread(_cli, stack, "remove", "stale")
    assert 0 == removed.returncode, removed.stderr
    assert "app stale" in removed.stdout
    await asyncio.sleep(2.5)  # the gateway's registry refreshes every second
    (event_id,) = await stack.send({"name": "stale/ping", "data": {}})
    await asyncio.sleep(1.0)
    assert [] == (await stack.http.get(f"/v1/events/{event_id}/runs")).json()["data"]
    unknown = await asyncio.to_thread(_cli, stack, "remove", "stale")
    assert 1 == unknown.returncode
    assert "no synced app 'stale'" in unknown.stderr
