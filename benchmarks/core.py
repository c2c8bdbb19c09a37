"""Core benchmark: our layer vs a hand-written Temporal workflow, on one machine, interleaved.

    python benchmarks/core.py [--runs N] [--events E] [--json out.json]

Starts its own stack: an in-memory Temporal dev server (free port, no UI), a gateway subprocess
(`python -m gateway --port P`) and, inside this process, both workers: ours
(`temporal_worker.run_worker("bench_app", ...)`, serving benchmarks/bench_app.py) and the baseline's
(a plain `temporalio.worker.Worker` for benchmarks/baseline.py). Both sides share the client, the
server, the event loop and worker defaults (regular activities, eager execution on), so noise hits
them alike. Then it measures:

1. n-step runs (n = 1, 10, 20, 100): start_workflow -> result(). Our runs are started the way the
   routing core starts them (RunInput, search attributes, run id `<fn_id>:<event id>`), but
   directly, so the routing cost stays out of this part. Each step returns time.time() from inside
   its body: per-step = (last stamp - first stamp) / (n - 1). Median over N interleaved repetitions
   after one warm-up; CPU time of this process and of the server per step; history length and size
   of one run of each.
2. event -> first step: ours = POST /e/{key} to the gateway over HTTP until the first step's body
   runs; baseline = client.start_workflow until its first activity runs. One event at a time (each
   run awaited before the next event), p50 and p99.

Prints tables and ratios (ours / baseline). Exits non-zero only on errors; the targets are printed
for information.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (str(HERE), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(1, _path)

import httpx  # noqa: E402
import temporalio.client  # noqa: E402
import temporalio.common  # noqa: E402
import temporalio.service  # noqa: E402
import temporalio.worker  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner  # noqa: E402

import baseline  # noqa: E402
import bench_app  # noqa: E402
import temporal_worker  # noqa: E402
from temporal_worker._devserver import DevServer, free_port  # noqa: E402

logger = logging.getLogger("benchmarks.core")

TARGET_PER_STEP_RATIO = 1.10
TARGET_EVENT_P50_RATIO = 1.2
LATENCY_FN_STEPS = 1  # part 2 uses the 1-step function and a 1-activity baseline run
EVENT_WARMUP = 3



class BenchmarkError(RuntimeError):
    """The stack could not be started, or a run did not produce what the benchmark expects."""


def say(message: str) -> None:
    """Progress goes to stderr; the results table goes to stdout."""
    print(message, file=sys.stderr, flush=True)


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def ratio(ours: float, base: float) -> float:
    return ours / base if base and not math.isnan(base) else math.nan


# -- the stack ----------------------------------------------------------------------------------


class ChildProcess:
    """A Python child process in its own session, logging to a file; stopped with its group."""

    def __init__(
        self, argv: list[str], temporal_address: str, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self._env = {
            **os.environ,
            "TEMPORAL_ADDRESS": temporal_address,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *self.argv],
                env=self._env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self, what: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchmarkError(f"{what} exited with code {self.proc.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Gateway(ChildProcess):
    """`python -m gateway --port P`."""

    def __init__(
        self, port: int, temporal_address: str, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(["-m", "gateway", "--port", str(port)], temporal_address, log_path, env)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


async def _poll(check: Callable[[], Awaitable[Any]], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise BenchmarkError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


async def cancel_registry_refreshers() -> None:
    """Stop the background refresh of registries nobody closed (run_worker's own), while the
    server still answers: a refresh in flight when the server is gone retries for minutes and
    holds up the interpreter's exit."""
    tasks = [
        t for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "Registry._refresh_forever"
    ]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclasses.dataclass
class Stack:
    server: DevServer
    client: temporalio.client.Client
    gateway: Gateway
    http: httpx.AsyncClient
    plain_http: PlainHttp
    settings: temporal_worker.WorkerSettings
    task_queue: str  # our functions' task queue
    baseline_input: Callable[[int], baseline.BaselineInput]


@contextlib.asynccontextmanager
async def running_stack(
    workdir: Path,
    *,
    app: str = "bench_app",
    sync_fn_id: str | None = None,
    sandboxed_baseline: bool = True,
) -> AsyncIterator[Stack]:
    """Dev server, gateway subprocess, our worker (serving module `app`, in process) and the
    baseline worker; all stopped on exit. Ready once `sync_fn_id` (default: bench_app's 1-step
    function) is synced."""
    sync_fn_id = sync_fn_id or bench_app.function_id(LATENCY_FN_STEPS)
    async with contextlib.AsyncExitStack() as stack:
        server = DevServer(port=free_port(), ui=False, data_dir=None)
        say(f"starting Temporal dev server on {server.address} ...")
        await server.start()
        stack.push_async_callback(server.stop)
        client = await temporalio.client.Client.connect(server.address)

        gateway = Gateway(free_port(), server.address, workdir / "gateway.log")
        stack.callback(gateway.stop)
        gateway.start()

        # Both sides get the same settings: WorkerSettings' defaults, not the environment's.
        settings = temporal_worker.WorkerSettings()
        stop = asyncio.Event()
        worker_task = asyncio.create_task(
            temporal_worker.run_worker(app, stop=stop, client=client, settings=settings),
            name="bench worker",
        )

        async def stop_worker() -> None:
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(worker_task), timeout=20)
            except TimeoutError:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await cancel_registry_refreshers()

        stack.push_async_callback(stop_worker)
        baseline_worker = temporalio.worker.Worker(
            client,
            task_queue=baseline.TASK_QUEUE,
            workflows=[baseline.BaselineSteps],
            activities=[baseline.stamp],
            # Hand-written workflows run in the SDK's sandbox by default; ours never do.
            workflow_runner=(
                SandboxedWorkflowRunner()
                if sandboxed_baseline
                else temporalio.worker.UnsandboxedWorkflowRunner()
            ),
        )
        await stack.enter_async_context(baseline_worker)

        # Registry.function refreshes on a miss; close() stops its background refresh.
        registry = temporal_worker.Registry(client, ttl=1.0)
        stack.callback(registry.close)

        async def synced() -> temporal_worker.FunctionSpec | None:
            if worker_task.done():
                worker_task.result()  # raises the worker's error
                raise BenchmarkError(f"the worker stopped before syncing {sync_fn_id}")
            return await registry.function(sync_fn_id)

        say("starting our worker (in process) and the baseline worker ...")
        spec = await _poll(synced, timeout=60, what=f"the worker to sync {sync_fn_id}")

        http = httpx.AsyncClient(base_url=gateway.url, timeout=30)
        stack.push_async_callback(http.aclose)

        async def gateway_up() -> bool:
            if gateway.proc is not None and gateway.proc.poll() is not None:
                raise BenchmarkError(
                    f"the gateway exited with code {gateway.proc.returncode}:\n{gateway.tail()}"
                )
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        say(f"waiting for the gateway on {gateway.url} ...")
        await _poll(gateway_up, timeout=60, what="gateway /health")

        fn = bench_app.steps_1
        maximum_attempts = fn.retries + 1

        def baseline_input(n: int) -> baseline.BaselineInput:
            return baseline.BaselineInput(
                n=n,
                retry_initial_interval=settings.retry_initial_interval,
                retry_max_interval=settings.retry_max_interval,
                maximum_attempts=maximum_attempts,
                step_timeout=settings.step_timeout,
                heartbeat_timeout=settings.heartbeat_timeout,
            )

        plain_http = PlainHttp(gateway.url)
        stack.push_async_callback(plain_http.aclose)
        try:
            yield Stack(
                server, client, gateway, http, plain_http, settings, spec.task_queue,
                baseline_input,
            )
        except Exception:
            say("--- gateway log (tail) ---\n" + gateway.tail())
            raise


# -- part 1: n-step runs ------------------------------------------------------------------------


@dataclasses.dataclass
class RunSample:
    whole_ms: float
    first_ms: float  # start_workflow call -> first step's stamp
    per_step_ms: float | None  # None for n = 1
    cpu_self_ms: float  # CPU time of this process (client + both workers) during the run
    cpu_server_ms: float | None  # CPU time of the dev server during the run (Linux only)
    workflow_id: str


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int | None) -> float | None:
    """user + system CPU seconds of another process, from /proc (None where unavailable)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


@dataclasses.dataclass
class Clock:
    """Wall clock and CPU counters at one moment."""

    wall: float
    cpu_self: float
    cpu_server: float | None

    @classmethod
    def now(cls, stack: Stack) -> Clock:
        return cls(time.time(), time.process_time(), process_cpu_seconds(stack.server.pid))


def _check_stamps(stamps: Any, n: int, what: str) -> list[float]:
    if not isinstance(stamps, list) or len(stamps) != n:
        raise BenchmarkError(f"{what}: expected {n} step stamps, got {stamps!r:.200}")
    return [float(s) for s in stamps]


def _sample(start: Clock, end: Clock, stamps: list[float], workflow_id: str) -> RunSample:
    n = len(stamps)
    per_step = (stamps[-1] - stamps[0]) / (n - 1) * 1000 if n > 1 else None
    server = (
        None
        if start.cpu_server is None or end.cpu_server is None
        else (end.cpu_server - start.cpu_server) * 1000
    )
    return RunSample(
        whole_ms=(end.wall - start.wall) * 1000,
        first_ms=(stamps[0] - start.wall) * 1000,
        per_step_ms=per_step,
        cpu_self_ms=(end.cpu_self - start.cpu_self) * 1000,
        cpu_server_ms=server,
        workflow_id=workflow_id,
    )


def _our_event(name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    event_id = f"bench-{uuid.uuid4().hex}"
    now_ms = int(time.time() * 1000)
    return {"name": name, "data": dict(data or {}), "id": event_id, "ts": now_ms}


async def run_ours(stack: Stack, n: int) -> RunSample:
    return await run_function(
        stack, bench_app.function_id(n), n, _our_event(bench_app.event_name(n)), bench_app.APP_ID
    )


async def run_function(
    stack: Stack, fn_id: str, n: int, event: dict[str, Any], app_id: str
) -> RunSample:
    """One run of an n-step stamp function, started the way the routing core starts runs."""
    workflow_id = f"{fn_id}:{event['id']}"
    start = Clock.now(stack)
    handle = await stack.client.start_workflow(
        fn_id,
        temporal_worker.RunInput(fn_id=fn_id, event=event, events=[event]),
        id=workflow_id,
        task_queue=stack.task_queue,
        search_attributes=temporalio.common.TypedSearchAttributes(
            [
                temporalio.common.SearchAttributePair(temporal_worker.SA_FUNCTION_ID, fn_id),
                temporalio.common.SearchAttributePair(temporal_worker.SA_APP_ID, app_id),
                temporalio.common.SearchAttributePair(temporal_worker.SA_EVENT_NAME, event["name"]),
                temporalio.common.SearchAttributePair(temporal_worker.SA_EVENT_ID, event["id"]),
            ]
        ),
        static_summary=f"{fn_id} <- {event['name']}",
    )
    stamps = _check_stamps(await handle.result(), n, f"our run {workflow_id}")
    return _sample(start, Clock.now(stack), stamps, workflow_id)


async def run_baseline(stack: Stack, n: int) -> RunSample:
    workflow_id = f"baseline-steps-{n}:{uuid.uuid4().hex}"
    start = Clock.now(stack)
    handle = await stack.client.start_workflow(
        baseline.BaselineSteps.run,
        stack.baseline_input(n),
        id=workflow_id,
        task_queue=baseline.TASK_QUEUE,
    )
    stamps = _check_stamps(await handle.result(), n, f"baseline run {workflow_id}")
    return _sample(start, Clock.now(stack), stamps, workflow_id)


async def history_of(client: temporalio.client.Client, workflow_id: str) -> dict[str, int]:
    desc = await client.get_workflow_handle(workflow_id).describe()
    return {
        "events": int(desc.history_length),
        "bytes": int(desc.raw_info.history_size_bytes),
    }


SIDES: dict[str, Callable[[Stack, int], Awaitable[RunSample]]] = {
    "ours": run_ours,
    "base": run_baseline,
}


async def bench_steps(stack: Stack, counts: list[int], runs: int) -> dict[str, Any]:
    samples: dict[int, dict[str, list[RunSample]]] = {n: {s: [] for s in SIDES} for n in counts}
    for rep in range(runs + 1):  # rep 0 is the warm-up
        started = time.monotonic()
        for i, n in enumerate(counts):
            order = list(SIDES) if (rep + i) % 2 == 0 else list(reversed(SIDES))
            for side in order:
                sample = await SIDES[side](stack, n)
                if rep > 0:
                    samples[n][side].append(sample)
        label = "warm-up" if rep == 0 else f"run {rep}/{runs}"
        say(f"  steps: {label} done in {time.monotonic() - started:.1f} s")

    results: dict[str, Any] = {}
    for n in counts:
        row: dict[str, Any] = {}
        for side, got in samples[n].items():
            per_step = [s.per_step_ms for s in got if s.per_step_ms is not None]
            row[side] = {
                "per_step_ms": median(per_step) if per_step else None,
                "per_step_ms_min": min(per_step) if per_step else None,
                "per_step_ms_max": max(per_step) if per_step else None,
                "steps_per_s": 1000.0 / median(per_step) if per_step else None,
                "whole_ms": median([s.whole_ms for s in got]),
                "first_step_ms": median([s.first_ms for s in got]),
                "cpu_self_ms_per_step": median([s.cpu_self_ms / n for s in got]),
                "cpu_server_ms_per_step": median(
                    [s.cpu_server_ms / n for s in got if s.cpu_server_ms is not None]
                ),
                "history": await history_of(stack.client, got[-1].workflow_id),
                "samples": [dataclasses.asdict(s) for s in got],
            }
        ours, base = row["ours"], row["base"]
        row["ratio"] = {
            "per_step": ratio(ours["per_step_ms"], base["per_step_ms"])
            if ours["per_step_ms"] is not None
            else None,
            "whole": ratio(ours["whole_ms"], base["whole_ms"]),
            "first_step": ratio(ours["first_step_ms"], base["first_step_ms"]),
            "history_bytes": ratio(ours["history"]["bytes"], base["history"]["bytes"]),
            "cpu_self": ratio(ours["cpu_self_ms_per_step"], base["cpu_self_ms_per_step"]),
            "cpu_server": ratio(ours["cpu_server_ms_per_step"], base["cpu_server_ms_per_step"]),
        }
        results[str(n)] = row
    return results


# -- part 2: event -> first step ----------------------------------------------------------------


@dataclasses.dataclass
class EventSample:
    accept_ms: float  # POST /e answered, or start_workflow returned
    first_step_ms: float  # send -> first step's stamp
    event_id: str | None = None  # ours: the id the gateway answered
    workflow_id: str = ""
    sent: float = 0.0  # time.time() at the send
    first_stamp: float = 0.0  # the first step body's time.time()


async def event_ours(stack: Stack) -> EventSample:
    """POST /e via httpx -> the first step's body runs."""

    async def post(path: str, value: Any) -> tuple[int, Any]:
        response = await stack.http.post(path, json=value)
        return response.status_code, response.json() if response.status_code == 200 else response.text

    return await _event_through_gateway(stack, post)


async def event_ours_plain(stack: Stack) -> EventSample:
    """As `event_ours`, with the minimal HTTP client."""
    return await _event_through_gateway(stack, stack.plain_http.post_json)


async def _event_through_gateway(
    stack: Stack, post: Callable[[str, Any], Awaitable[tuple[int, Any]]]
) -> EventSample:
    fn_id = bench_app.function_id(LATENCY_FN_STEPS)
    t0 = time.time()
    status, answer = await post(
        "/e/benchkey", {"name": bench_app.event_name(LATENCY_FN_STEPS), "data": {}}
    )
    accepted = time.time()
    if status != 200:
        raise BenchmarkError(f"POST /e answered {status}: {str(answer)[:300]}")
    (event_id,) = answer["ids"]
    workflow_id = f"{fn_id}:{event_id}"  # the run id of an event without a user id
    stamps = _check_stamps(
        await stack.client.get_workflow_handle(workflow_id).result(),
        LATENCY_FN_STEPS,
        f"our run {workflow_id}",
    )
    return EventSample(
        (accepted - t0) * 1000, (stamps[0] - t0) * 1000, event_id, workflow_id, t0, stamps[0]
    )


class PlainHttp:
    """A minimal keep-alive HTTP/1.1 client, as curl or a Node `fetch` is to the gateway: the
    request's bytes leave in one write. httpx does about 0.8 ms of its own Python work per request
    before its bytes leave (more than the gateway's handler code); the `ours` side keeps that,
    this one measures the gateway and the routing without it."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(self, path: str, value: Any) -> tuple[int, Any]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        body = json.dumps(value, separators=(",", ":")).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nhost: {self._host}:{self._port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, val = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(val)
        return status, json.loads(await reader.readexactly(length))

    async def aclose(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            with contextlib.suppress(OSError):
                await self._streams[1].wait_closed()
            self._streams = None


async def event_baseline(stack: Stack) -> EventSample:
    t0 = time.time()
    handle = await stack.client.start_workflow(
        baseline.BaselineSteps.run,
        stack.baseline_input(LATENCY_FN_STEPS),
        id=f"baseline-event:{uuid.uuid4().hex}",
        task_queue=baseline.TASK_QUEUE,
    )
    accepted = time.time()
    stamps = _check_stamps(await handle.result(), LATENCY_FN_STEPS, f"baseline run {handle.id}")
    return EventSample(
        (accepted - t0) * 1000, (stamps[0] - t0) * 1000, None, handle.id, t0, stamps[0]
    )


# Where event -> first step goes, from each run's history (server time, same machine's clock).
SEGMENTS = (
    ("send -> run started", None, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
    ("run started -> first workflow task picked up",
     EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
    ("first workflow task (worker, until completed)",
     EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    ("completed -> step body runs", EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, None),
)


async def segments_ms(client: temporalio.client.Client, sample: EventSample) -> list[float]:
    """The sample's event -> first step split into SEGMENTS (ms each)."""
    first: dict[int, float] = {}
    async for event in client.get_workflow_handle(sample.workflow_id).fetch_history_events():
        first.setdefault(event.event_type, event.event_time.ToMicroseconds() / 1e6)
        if EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in first:
            break
    return [
        ((first[end] if end is not None else sample.first_stamp)
         - (first[begin] if begin is not None else sample.sent)) * 1000
        for _, begin, end in SEGMENTS
    ]


async def wait_gateway_routes(stack: Stack) -> None:
    """The gateway caches synced functions (1 s): send until an event really starts a run."""
    fn_id = bench_app.function_id(LATENCY_FN_STEPS)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = await stack.http.post(
            "/e/benchkey", json={"name": bench_app.event_name(LATENCY_FN_STEPS), "data": {}}
        )
        response.raise_for_status()
        (event_id,) = response.json()["ids"]
        try:
            await asyncio.wait_for(
                stack.client.get_workflow_handle(f"{fn_id}:{event_id}").result(), timeout=2
            )
            return
        except (TimeoutError, temporalio.service.RPCError):
            await asyncio.sleep(0.5)
    raise BenchmarkError(f"events sent to the gateway start no run of {fn_id} (see gateway log)")


def gateway_handler_ms(log_path: Path, event_ids: list[str | None]) -> list[float]:
    """The gateway's own `duration_ms` for these events (its "events accepted" JSON log lines)."""
    wanted = {i for i in event_ids if i}
    found: list[float] = []
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        ids = record.get("event_ids") if isinstance(record, dict) else None
        if record.get("msg") == "events accepted" and ids and ids[0] in wanted:
            found.append(float(record["duration_ms"]))
    return found


async def bench_events(stack: Stack, count: int) -> dict[str, Any]:
    await wait_gateway_routes(stack)
    sides = {"ours": event_ours, "ours_plain": event_ours_plain, "base": event_baseline}
    samples: dict[str, list[EventSample]] = {s: [] for s in sides}
    for i in range(EVENT_WARMUP + count):
        order = list(sides)[i % 3:] + list(sides)[:i % 3]  # each side goes first in turn
        for side in order:
            sample = await sides[side](stack)
            if i >= EVENT_WARMUP:
                samples[side].append(sample)
    say(f"  events: {count} per side done")
    out: dict[str, Any] = {}
    for side, got in samples.items():
        first = [s.first_step_ms for s in got]
        accept = [s.accept_ms for s in got]
        out[side] = {
            "first_step_p50_ms": percentile(first, 50),
            "first_step_p99_ms": percentile(first, 99),
            "accept_p50_ms": percentile(accept, 50),
            "accept_p99_ms": percentile(accept, 99),
            "samples": [dataclasses.asdict(s) for s in got],
        }
    for side, got in samples.items():
        split = [await segments_ms(stack.client, s) for s in got]
        out[side]["segments_p50_ms"] = {
            name: percentile([row[i] for row in split], 50) for i, (name, _, _) in enumerate(SEGMENTS)
        }
    for side in ("ours", "ours_plain"):
        handler = gateway_handler_ms(stack.gateway.log_path, [s.event_id for s in samples[side]])
        out[side]["gateway_handler_p50_ms"] = percentile(handler, 50)
        out[side]["gateway_handler_p99_ms"] = percentile(handler, 99)
    for key, side in (("ratio", "ours"), ("ratio_plain", "ours_plain")):
        out[key] = {
            "first_step_p50": ratio(out[side]["first_step_p50_ms"], out["base"]["first_step_p50_ms"]),
            "first_step_p99": ratio(out[side]["first_step_p99_ms"], out["base"]["first_step_p99_ms"]),
            "accept_p50": ratio(out[side]["accept_p50_ms"], out["base"]["accept_p50_ms"]),
        }
    return out


# -- report -------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}x"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def report(result: dict[str, Any]) -> str:
    steps, events, meta = result["steps"], result["events"], result["meta"]
    out = [
        "",
        "Core benchmark: ours = compat function on temporal_worker (worker in process), "
        "base = hand-written workflow + activity",
        f"runs: median of {meta['runs']} after 1 warm-up; events: {meta['events']} per side after "
        f"{EVENT_WARMUP} warm-up; load average {meta['loadavg_start']} -> {meta['loadavg_end']}",
        f"source {meta['source']}, temporalio {meta['temporalio']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs; baseline workflow "
        + ("in the SDK's default sandbox" if meta.get("baseline_sandbox", True) else "unsandboxed"),
        "",
        "1. n-step runs (start_workflow -> result), wall clock; cells are ours / base",
    ]
    rows = []
    for n, row in steps.items():
        o, b, r = row["ours"], row["base"], row["ratio"]
        rows.append(
            [
                n,
                f"{_f(o['per_step_ms'])} / {_f(b['per_step_ms'])}",
                _x(r["per_step"]),
                f"{_f(o['steps_per_s'], 0)} / {_f(b['steps_per_s'], 0)}",
                f"{_f(o['whole_ms'], 0)} / {_f(b['whole_ms'], 0)}",
                _x(r["whole"]),
                f"{_f(o['first_step_ms'])} / {_f(b['first_step_ms'])}",
                _x(r["first_step"]),
            ]
        )
    headers = [
        "n", "per-step ms", "ratio", "steps/s", "whole-run ms", "ratio", "first step ms", "ratio"
    ]
    out.append(_table(headers, rows))
    out += [
        "",
        "   cost: CPU per step (this process = client + both workers; the dev server), "
        "history of one run",
    ]
    rows = []
    for n, row in steps.items():
        o, b, r = row["ours"], row["base"], row["ratio"]
        rows.append(
            [
                n,
                f"{_f(o['cpu_self_ms_per_step'], 2)} / {_f(b['cpu_self_ms_per_step'], 2)}",
                _x(r["cpu_self"]),
                f"{_f(o['cpu_server_ms_per_step'], 2)} / {_f(b['cpu_server_ms_per_step'], 2)}",
                _x(r["cpu_server"]),
                f"{o['history']['events']} / {b['history']['events']}",
                f"{o['history']['bytes']} / {b['history']['bytes']}",
                _x(r["history_bytes"]),
            ]
        )
    headers = ["n", "process CPU ms/step", "ratio", "server CPU ms/step", "ratio", "history events",
               "history bytes", "ratio"]
    out.append(_table(headers, rows))
    spread = [
        f"n={n}: ours {_f(row['ours']['per_step_ms_min'])}-{_f(row['ours']['per_step_ms_max'])}, "
        f"base {_f(row['base']['per_step_ms_min'])}-{_f(row['base']['per_step_ms_max'])}"
        for n, row in steps.items()
        if row["ours"]["per_step_ms"] is not None
    ]
    out.append("per-step min-max ms: " + "; ".join(spread))
    out += ["", "2. event -> first step start (one event at a time; accepted = POST /e answered or "
            "start_workflow returned; gateway handler = its own duration_ms log field)"]
    o, p, b = events["ours"], events["ours_plain"], events["base"]
    r, rp = events["ratio"], events["ratio_plain"]
    out.append(
        _table(
            ["", "ours: POST /e, httpx", "ratio", "ours: POST /e, minimal client", "ratio",
             "base: start_workflow"],
            [
                ["first step p50 ms", _f(o["first_step_p50_ms"]), _x(r["first_step_p50"]),
                 _f(p["first_step_p50_ms"]), _x(rp["first_step_p50"]), _f(b["first_step_p50_ms"])],
                ["first step p99 ms", _f(o["first_step_p99_ms"]), _x(r["first_step_p99"]),
                 _f(p["first_step_p99_ms"]), _x(rp["first_step_p99"]), _f(b["first_step_p99_ms"])],
                ["accepted p50 ms", _f(o["accept_p50_ms"]), _x(r["accept_p50"]),
                 _f(p["accept_p50_ms"]), _x(rp["accept_p50"]), _f(b["accept_p50_ms"])],
                ["accepted p99 ms", _f(o["accept_p99_ms"]), "", _f(p["accept_p99_ms"]), "",
                 _f(b["accept_p99_ms"])],
                ["  gateway handler p50 / p99 ms",
                 f"{_f(o['gateway_handler_p50_ms'])} / {_f(o['gateway_handler_p99_ms'])}", "",
                 f"{_f(p['gateway_handler_p50_ms'])} / {_f(p['gateway_handler_p99_ms'])}", "", ""],
                *(
                    [f"  p50 {name} ms", _f(o["segments_p50_ms"][name], 2), "",
                     _f(p["segments_p50_ms"][name], 2), "", _f(b["segments_p50_ms"][name], 2)]
                    for name, _, _ in SEGMENTS
                ),
            ],
        )
    )
    out += ["", "Targets (informational):"]
    for n, row in steps.items():
        per_step = row["ratio"]["per_step"]
        if per_step is not None:
            verdict = "ok" if per_step <= TARGET_PER_STEP_RATIO else "MISSED"
            out.append(
                f"  per-step n={n}: {_x(per_step)} "
                f"(target <= {TARGET_PER_STEP_RATIO:.2f}x) {verdict}"
            )
    for label, ratios in (("minimal HTTP client", rp), ("httpx", r)):
        p50 = ratios["first_step_p50"]
        verdict = "ok" if p50 <= TARGET_EVENT_P50_RATIO else "MISSED"
        out.append(
            f"  event -> first step p50 ({label}): {_x(p50)} "
            f"(target <= {TARGET_EVENT_P50_RATIO:.2f}x) {verdict}"
        )
    return "\n".join(out)


# -- main ---------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        async with running_stack(
            Path(tmp), sandboxed_baseline=not args.unsandboxed_baseline
        ) as stack:
            say(f"part 1: n-step runs, {args.runs} runs + 1 warm-up, interleaved ...")
            steps = await bench_steps(stack, list(bench_app.STEP_COUNTS), args.runs)
            say(f"part 2: event -> first step, {args.events} events per side ...")
            events = await bench_events(stack, args.events)
        say("stack stopped")
    return {
        "meta": {
            "runs": args.runs,
            "events": args.events,
            "baseline_sandbox": not args.unsandboxed_baseline,
            "seconds": round(time.monotonic() - started, 1),
            "loadavg_start": loadavg_start,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "temporalio": _version("temporalio"),
            "source": _source_revision(),
            "worker": "in process (temporal_worker.run_worker), same event loop as the baseline",
            "settings": dataclasses.asdict(temporal_worker.WorkerSettings()),
        },
        "steps": steps,
        "events": events,
    }


def _source_revision() -> str:
    """The commit the measured code comes from, `+dirty` when its packages have local changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "compat", "temporal_worker",
             "gateway"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return commit + ("+dirty" if dirty else "")


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/core.py",
        description="Per-step cost and event -> first step latency: our layer vs plain Temporal.",
    )
    parser.add_argument(
        "--runs", type=int, default=7, help="measured runs per n and side (default 7)"
    )
    parser.add_argument(
        "--events", type=int, default=50, help="events per side for the latency part (default 50)"
    )
    parser.add_argument(
        "--unsandboxed-baseline",
        action="store_true",
        help="run the hand-written workflow outside the SDK's sandbox too (default: sandboxed, "
        "as hand-written workflows run by default)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write all results here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    if args.events < 2:
        parser.error(f"--events must be at least 2, got {args.events}")
    return args


def run_main(
    bench: Callable[[argparse.Namespace], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
    render: Callable[[dict[str, Any]], str],
) -> int:
    """Run `bench(args)` with logging set up and SIGTERM acting like Ctrl-C (every process it
    started is stopped), print `render(result)`, write --json; exit 0, or 1 on errors."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )

    async def _main() -> dict[str, Any]:
        # SIGTERM stops like Ctrl-C does: the main task is cancelled and every process is stopped.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await bench(args)

    try:
        result = asyncio.run(_main())
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except asyncio.CancelledError:
        say("terminated")
        return 143
    except Exception as err:
        logger.exception("benchmark failed: %s", err)
        return 1
    print(render(result), flush=True)
    say(f"total {result['meta']['seconds']} s")
    json_path = getattr(args, "json", None)
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n")
        say(f"results written to {json_path}")
    if result.get("errors"):  # parts that broke while the others still produced figures
        for error in result["errors"]:
            say(f"ERROR {error}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(benchmark, parse_args(argv), report)


def exit_now(code: int) -> None:
    """Leave without the interpreter's exit handlers. Everything this benchmark started is stopped
    by now, but a temporalio client or worker that ran in the process can hold up (or crash) the
    interpreter's exit (sdk-python#300; the worker CLI exits the same way)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
