"""Helpers the end-to-end tests share: the Stack handle, child processes, polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import temporalio.api.enums.v1
import temporalio.client

import temporal_worker

from temporal_worker._devserver import DevServer

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Process:
    """A child process of ours (worker or gateway) with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


TIMER_STARTED = temporalio.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED


class Stack:
    """Handles on the running stack, plus the helpers the tests share."""

    def __init__(self, server: DevServer, client: temporalio.client.Client, gateway_url: str,
                 worker: Process, gateway: Process, records: Path) -> None:
        self.server, self.client, self.gateway_url = server, client, gateway_url
        self.worker, self.gateway, self.records = worker, gateway, records
        self.http = httpx.AsyncClient(base_url=gateway_url, timeout=30)

    async def send(self, events: dict[str, Any] | list[dict[str, Any]], key: str = "test") -> list[str]:
        """POST events to the gateway like curl would; returns the ids."""
        r = await self.http.post(f"/e/{key}", json=events)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == 200
        return list(body["ids"])

    async def runs(self, event_id: str, *, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The event's runs from the REST API once `count` of them exist."""
        async def check() -> list[dict[str, Any]] | None:
            r = await self.http.get(f"/v1/events/{event_id}/runs")
            assert r.status_code == 200, r.text
            data = r.json()["data"]
            return data if len(data) >= count else None
        return await eventually(check, timeout=timeout, what=f"{count} run(s) of event {event_id}")

    async def finished_run(self, run_id: str, *, timeout: float = 40.0) -> dict[str, Any]:
        """GET /v1/runs/{id} until the run is no longer Running."""
        async def check() -> dict[str, Any] | None:
            r = await self.http.get(f"/v1/runs/{run_id}")
            assert r.status_code == 200, r.text
            run = r.json()["data"]
            return run if run["status"] not in ("Running", "Scheduled") else None
        return await eventually(check, timeout=timeout, what=f"run {run_id} to finish")

    async def wait_history_event(
        self, run_id: str, event_type: int = TIMER_STARTED, *, interval: float = 0.1, what: str = ""
    ) -> None:
        """Poll the run's history until it holds an event of `event_type` (default: a timer
        started, i.e. the run sleeps or waits for an event)."""
        handle = self.client.get_workflow_handle(run_id)

        async def seen() -> bool:
            history = await handle.fetch_history()
            return any(e.event_type == event_type for e in history.events)

        await eventually(seen, interval=interval, what=what or f"history event {event_type} in {run_id}")

    async def waiting_run(self, name: str, data: dict[str, Any]) -> str:
        """Send one event that triggers one run which waits; return the run's id once it waits."""
        (run,) = await self.runs((await self.send({"name": name, "data": data}))[0])
        await self.wait_history_event(run["run_id"], what=f"the run {name} started to wait")
        return run["run_id"]

    async def run_event(self, name: str, data: dict[str, Any], *, timeout: float = 40.0) -> dict[str, Any]:
        """Send one event that triggers exactly one function; return that run once finished."""
        (event_id,) = await self.send({"name": name, "data": data})
        (run,) = await self.runs(event_id)
        return await self.finished_run(run["run_id"], timeout=timeout)

    def records_of(self, key: str) -> list[dict[str, Any]]:
        path = self.records / f"{key}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    async def wait_records(self, key: str, what: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            hits = [r for r in self.records_of(key) if r["what"] == what]
            return hits if len(hits) >= count else None
        return await eventually(check, timeout=timeout, what=f"{count} {what!r} record(s) for {key}")




async def gateway_up(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.asynccontextmanager
async def running_stack(
    base: Path,
    *,
    app: str,
    app_id: str,
    app_dir: Path,
    record_env: str,
    env: dict[str, str],
    stack_class: type[Stack] = Stack,
    name_prefix: str = "",
) -> AsyncIterator[Stack]:
    """A Temporal dev server (in memory), a worker process serving `app` (a module in `app_dir`)
    and a gateway process; yields once the gateway answers and has loaded the synced app."""
    records = base / "records"
    records.mkdir()
    server = DevServer(port=free_port(), ui=False, data_dir=None)
    await server.start()
    child_env = {
        **os.environ,
        "TEMPORAL_ADDRESS": server.address,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(app_dir)]),
        record_env: str(records),
        # Short retry backoff and heartbeat timeout keep the suites fast (defaults: 15 s and 30 s).
        "INNGEST_TEMPORAL_RETRY_INITIAL_INTERVAL": "1s",
        "INNGEST_TEMPORAL_HEARTBEAT_TIMEOUT": "2s",
        "INNGEST_TEMPORAL_PAYLOAD_STORE": f"file://{base / 'payloads'}",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    # This process reads run outputs too: it must use the children's payload store.
    os.environ["INNGEST_TEMPORAL_PAYLOAD_STORE"] = child_env["INNGEST_TEMPORAL_PAYLOAD_STORE"]
    client = await temporal_worker.connect(target_host=server.address)
    port = free_port()
    worker = Process(f"{name_prefix}worker", [sys.executable, "-m", "temporal_worker", "worker", "--app", app], child_env, base)
    gateway = Process(f"{name_prefix}gateway", [sys.executable, "-m", "gateway", "--port", str(port)], child_env, base)
    worker.start()
    gateway.start()
    s = stack_class(server, client, f"http://127.0.0.1:{port}", worker, gateway, records)
    try:
        await eventually(lambda: gateway_up(s.http), timeout=60, what="gateway /health")

        async def app_synced() -> bool:
            query = "WorkflowType = 'InngestApp' AND ExecutionStatus = 'Running'"
            return any([wf.id == f"inngest-app:{app_id}" async for wf in client.list_workflows(query)])

        await eventually(app_synced, timeout=60, what=f"worker to sync app {app_id!r}")
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


@contextlib.asynccontextmanager
async def extra_process_stack(
    stack: Stack, log_dir: Path, *, worker: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A second gateway process (and, with worker=True, a second worker) on the same Temporal.

    Yields an HTTP client for the second gateway once it is healthy and has loaded the registry.
    """
    port = free_port()
    extra = [Process("gateway2", [sys.executable, "-m", "gateway", "--port", str(port)], stack.worker.env, log_dir)]
    if worker:
        extra.append(Process("worker2", stack.worker.args, stack.worker.env, log_dir))
    for p in extra:
        p.start()
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        await eventually(lambda: gateway_up(http), timeout=60, what="second gateway")
        await asyncio.sleep(2.5)  # its registry cache, and a second worker polling
        yield http
    finally:
        await http.aclose()
        for p in extra:
            p.stop()
