"""`inngest-temporal apps list|remove`: an app no worker serves can be unregistered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import temporal_worker
from e2e_support import REPO, Process, Stack, eventually

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


async def test_an_event_sent_as_soon_as_a_worker_is_ready_starts_its_run(
    stack: Stack, tmp_path: Path
) -> None:
    """A worker logs "worker ready" once gateways (1 s registry cache) route to its functions:
    an event for a function just added to an app, sent right after that line, was answered 200
    and started nothing."""
    app_id = f"fresh{uuid.uuid4().hex[:8]}"
    module = tmp_path / f"{app_id}.py"
    env = {**stack.worker.env, "PYTHONPATH": f"{tmp_path}:{stack.worker.env.get('PYTHONPATH', '')}"}

    def write(functions: list[str]) -> None:
        module.write_text(
            "from compat import inngest\n"
            f"client = inngest.Inngest(app_id={app_id!r})\n"
            + "".join(
                f"@client.create_function(fn_id={name!r}, "
                f"trigger=inngest.TriggerEvent(event='{app_id}/{name}'))\n"
                f"async def {name}(ctx: inngest.Context) -> str:\n"
                f"    return {name!r}\n"
                for name in functions
            )
        )

    async def serve(n: int) -> Process:
        worker = Process(
            f"worker-{app_id}-{n}", [sys.executable, "-m", "temporal_worker", "worker", "--app", app_id],
            env, tmp_path,
        )
        worker.start()

        async def ready() -> bool:
            assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
            return '"worker ready"' in worker.log_path.read_text(errors="replace")

        await eventually(ready, timeout=60, interval=0.02, what="the worker to be ready")
        return worker

    write(["one"])
    worker = await serve(1)
    try:
        (event_id,) = await stack.send({"name": f"{app_id}/one", "data": {}})
        (run,) = await stack.runs(event_id)
        worker.stop()
        write(["one", "two"])
        worker = await serve(2)
        (event_id,) = await stack.send({"name": f"{app_id}/two", "data": {}})
        (run,) = await stack.runs(event_id)
        assert "two" == (await stack.finished_run(run["run_id"]))["output"]
    finally:
        worker.stop()
        await asyncio.to_thread(_cli, stack, "remove", app_id)
