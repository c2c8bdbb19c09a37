"""Scale benchmark: throughput, wait_for_event fan-in, memory, and the largest runs Inngest allows.

    python benchmarks/scale.py [--tput-runs 300] [--rounds 3] [--waits 1000] [--json out.json]

Starts its own stack, all stopped on exit, on errors and on Ctrl-C / SIGTERM: an in-memory Temporal
dev server (free port), a gateway process (`python -m gateway`), our worker process
(`python -m temporal_worker worker --app scale_app`, serving benchmarks/scale_app.py) and a baseline
worker process (`python benchmarks/baseline.py`). Workers and gateway share a file payload store
(INNGEST_TEMPORAL_PAYLOAD_STORE=file://<tmp>/payloads); so does this process's client.

a. Throughput: N one-step runs as fast as they are accepted. Ours: events POSTed to the gateway in
   batches (one request at a time, each answered once its runs are started). Base: raw
   `client.start_workflow` of the hand-written one-activity workflow, in the same batches, 16 starts
   at a time per batch (ours routes up to 16 of a request's events at once). runs/s = N / (first send ->
   last close time, from visibility). Rounds alternate sides; the median round counts.
b. wait_for_event: W runs of `wait` each wait for `scale/wake` with `if_exp="async.data.k ==
   event.data.k"` (a different k each). Once every pause is registered with the pause router,
   S matching events are sent one at a time, spread over time, then the rest in bulk batches;
   event -> resumed = POST sent -> the step after the wait runs. Every run must complete, matched.
c. Peak RSS (VmHWM from /proc/<pid>/status) of the worker, gateway, baseline worker and dev server
   after a, after b and after d.
d. Large runs: 1,000 steps; one step output just under 4 MiB; 8 such outputs (just under 32 MiB of
   state). Each must complete; wall time, history events and bytes of every run in its
   continue-as-new chain.

Exits non-zero only on errors; the throughput target (>= 0.9x) is printed for information.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import core  # puts the repository root and benchmarks/ on sys.path
import httpx
import temporalio.client
import temporalio.service
from temporalio.api.enums.v1 import EventType

import baseline
import scale_app
import temporal_worker
from temporal_worker._devserver import DevServer, free_port

logger = logging.getLogger("benchmarks.scale")
say = core.say
TARGET_THROUGHPUT_RATIO = 0.9
START_CONCURRENCY = 16  # base: starts in flight per batch (the routing core's events at once)
PAUSES_ROUTER = f"inngest-pauses:{scale_app.WAKE_EVENT}"


@dataclasses.dataclass
class ScaleStack:
    server: DevServer
    client: temporalio.client.Client
    gateway: core.Gateway
    worker: core.ChildProcess
    base_worker: core.ChildProcess
    http: httpx.AsyncClient
    payload_dir: Path

    def processes(self) -> dict[str, int | None]:
        return {
            "worker": self.worker.pid,
            "gateway": self.gateway.pid,
            "base worker": self.base_worker.pid,
            "dev server": self.server.pid,
        }

    def check_alive(self) -> None:
        self.worker.check_alive("our worker process")
        self.gateway.check_alive("the gateway")
        self.base_worker.check_alive("the baseline worker process")


@contextlib.asynccontextmanager
async def running_stack(workdir: Path) -> AsyncIterator[ScaleStack]:
    payload_dir = workdir / "payloads"
    store = f"file://{payload_dir}"
    env = {
        "INNGEST_TEMPORAL_PAYLOAD_STORE": store,
        "PYTHONPATH": os.pathsep.join([str(core.REPO), str(core.HERE)]),
    }
    async with contextlib.AsyncExitStack() as stack:
        server = DevServer(port=free_port(), ui=False, data_dir=None)
        say(f"starting Temporal dev server on {server.address} ...")
        await server.start()
        stack.push_async_callback(server.stop)

        gateway = core.Gateway(free_port(), server.address, workdir / "gateway.log", env)
        worker = core.ChildProcess(
            ["-m", "temporal_worker", "worker", "--app", "scale_app"],
            server.address, workdir / "worker.log", env,
        )
        base_worker = core.ChildProcess(
            [str(core.HERE / "baseline.py")], server.address, workdir / "base-worker.log", env
        )
        for child in (gateway, worker, base_worker):
            stack.callback(child.stop)
            child.start()

        # This process reads large run data too: same payload store as the workers and gateway.
        os.environ["INNGEST_TEMPORAL_PAYLOAD_STORE"] = store
        client = await temporal_worker.connect(target_host=server.address)
        http = httpx.AsyncClient(base_url=gateway.url, timeout=120)
        stack.push_async_callback(http.aclose)
        st = ScaleStack(server, client, gateway, worker, base_worker, http, payload_dir)

        # Registry.function refreshes on a miss; close() stops its background refresh.
        registry = temporal_worker.Registry(client, ttl=1.0)
        stack.callback(registry.close)

        async def synced() -> Any:
            st.check_alive()
            return await registry.function(scale_app.function_id("tput"))

        say("waiting for the worker process to sync app 'bench-scale' ...")
        await core._poll(synced, timeout=90, what="the worker to sync app 'bench-scale'")

        async def gateway_up() -> bool:
            st.check_alive()
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await core._poll(gateway_up, timeout=60, what="gateway /health")
        try:
            yield st
        except BaseException:
            for name, child in (("gateway", gateway), ("worker", worker), ("base worker", base_worker)):
                say(f"--- {name} log (tail) ---\n{child.tail()}")
            raise


# -- measuring helpers ------------------------------------------------------------------------


def cpu_snapshot(st: ScaleStack) -> dict[str, float]:
    out = {name: core.process_cpu_seconds(pid) or 0.0 for name, pid in st.processes().items()}
    out["benchmark"] = time.process_time()
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 3) for k in before}


def memory(pid: int | None) -> dict[str, int | None]:
    """VmHWM (peak resident set) and VmRSS in KiB, from /proc/<pid>/status."""
    out: dict[str, int | None] = {"hwm_kib": None, "rss_kib": None}
    if pid is None:
        return out
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    out["hwm_kib"] = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    out["rss_kib"] = int(line.split()[1])
    except OSError:
        pass
    return out


def memory_snapshot(st: ScaleStack) -> dict[str, dict[str, int | None]]:
    return {name: memory(pid) for name, pid in st.processes().items()}


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _post_events(st: ScaleStack, events: list[dict[str, Any]]) -> list[str]:
    response = await st.http.post("/e/benchkey", json=events)
    if response.status_code != 200:
        raise core.BenchmarkError(f"POST /e answered {response.status_code}: {response.text[:300]}")
    ids = response.json()["ids"]
    if len(ids) != len(events):
        raise core.BenchmarkError(f"POST /e: {len(events)} events sent, {len(ids)} ids answered")
    return ids


class Stalled(core.BenchmarkError):
    """Runs stopped closing: `executions` are those that did close."""

    def __init__(self, message: str, executions: list[temporalio.client.WorkflowExecution]) -> None:
        super().__init__(message)
        self.executions = executions


async def _closed(
    st: ScaleStack, query: str, count: int, timeout: float, what: str, stall: float = 60.0
) -> list[temporalio.client.WorkflowExecution]:
    """Wait until `count` executions matching `query` are closed; return them (from visibility).
    Raises Stalled after `timeout` seconds, or when none closed for `stall` seconds."""
    deadline = time.monotonic() + timeout
    closed_query = f"{query} AND ExecutionStatus != 'Running'"
    last_got, last_progress = -1, time.monotonic()
    while True:
        st.check_alive()
        got = (await st.client.count_workflows(closed_query)).count
        if got >= count:
            break
        now = time.monotonic()
        if got != last_got:
            last_got, last_progress = got, now
        if now > deadline or now - last_progress > stall:
            why = f"after {timeout:g} s" if now > deadline else f"and none closed for {stall:g} s"
            raise Stalled(
                f"{what}: {got} of {count} runs closed {why}",
                [e async for e in st.client.list_workflows(closed_query)],
            )
        await asyncio.sleep(0.1)
    executions = [e async for e in st.client.list_workflows(closed_query)]
    bad = [e for e in executions if e.status != temporalio.client.WorkflowExecutionStatus.COMPLETED]
    if bad:
        raise core.BenchmarkError(
            f"{what}: {len(bad)} runs did not complete, e.g. {bad[0].id} ({bad[0].status})"
        )
    return executions


# -- a. throughput --------------------------------------------------------------------------------


async def tput_round(st: ScaleStack, side: str, count: int, batch: int) -> dict[str, Any]:
    fn_id = scale_app.function_id("tput")
    tag = uuid.uuid4().hex[:8]
    cpu0 = cpu_snapshot(st)
    t0 = time.time()
    if side == "ours":
        query = f"WorkflowType = '{fn_id}' AND StartTime >= '{_iso(t0 - 0.001)}'"
        for first in range(0, count, batch):
            await _post_events(
                st,
                [
                    {"name": scale_app.event_name("tput"), "data": {"i": i, "tag": tag}}
                    for i in range(first, min(first + batch, count))
                ],
            )
    else:
        query = f"WorkflowType = 'BaselineSteps' AND StartTime >= '{_iso(t0 - 0.001)}'"
        gate = asyncio.Semaphore(START_CONCURRENCY)
        inp = base_input()

        async def start(i: int) -> None:
            async with gate:
                await st.client.start_workflow(
                    baseline.BaselineSteps.run, inp, id=f"tput-base-{tag}-{i}",
                    task_queue=baseline.TASK_QUEUE,
                )

        for first in range(0, count, batch):
            await asyncio.gather(*(start(i) for i in range(first, min(first + batch, count))))
    accepted = time.time()
    executions = await _closed(st, query, count, timeout=300, what=f"throughput ({side})")
    cpu1 = cpu_snapshot(st)
    last = max(e.close_time.timestamp() for e in executions if e.close_time)
    seconds = last - t0
    return {
        "runs": len(executions),
        "seconds": seconds,
        "runs_per_s": len(executions) / seconds,
        "accept_seconds": accepted - t0,
        "accepted_per_s": count / (accepted - t0),
        "cpu_s": cpu_delta(cpu0, cpu1),
    }


def base_input() -> baseline.BaselineInput:
    s = temporal_worker.WorkerSettings()
    return baseline.BaselineInput(
        n=1,
        retry_initial_interval=s.retry_initial_interval,
        retry_max_interval=s.retry_max_interval,
        maximum_attempts=scale_app.tput.retries + 1,
        step_timeout=s.step_timeout,
        heartbeat_timeout=s.heartbeat_timeout,
    )


async def wait_gateway_routes(st: ScaleStack) -> None:
    """The gateway caches synced functions (1 s): send until an event really starts a run."""
    fn_id = scale_app.function_id("tput")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (event_id,) = await _post_events(st, [{"name": scale_app.event_name("tput"), "data": {}}])
        try:
            await asyncio.wait_for(
                st.client.get_workflow_handle(f"{fn_id}:{event_id}").result(), timeout=3
            )
            return
        except (TimeoutError, temporalio.service.RPCError):
            await asyncio.sleep(0.5)
    raise core.BenchmarkError("events sent to the gateway start no run of the tput function")


async def bench_throughput(st: ScaleStack, count: int, rounds: int, batch: int) -> dict[str, Any]:
    await wait_gateway_routes(st)
    for side in ("ours", "base"):  # warm-up
        await tput_round(st, side, min(count, 50), batch)
    samples: dict[str, list[dict[str, Any]]] = {"ours": [], "base": []}
    for r in range(rounds):
        order = ["ours", "base"] if r % 2 == 0 else ["base", "ours"]
        for side in order:
            sample = await tput_round(st, side, count, batch)
            samples[side].append(sample)
            say(f"  throughput round {r + 1}/{rounds} {side}: {sample['runs_per_s']:.1f} runs/s")
    out: dict[str, Any] = {"runs": count, "rounds": rounds, "batch": batch}
    for side, got in samples.items():
        by_rate = sorted(got, key=lambda s: s["runs_per_s"])
        mid = by_rate[len(by_rate) // 2]
        out[side] = {
            "runs_per_s": core.median([s["runs_per_s"] for s in got]),
            "runs_per_s_all": [round(s["runs_per_s"], 1) for s in got],
            "accepted_per_s": core.median([s["accepted_per_s"] for s in got]),
            "median_round": mid,
        }
    out["ratio"] = core.ratio(out["ours"]["runs_per_s"], out["base"]["runs_per_s"])
    return out


# -- b. wait_for_event fan-in ---------------------------------------------------------------------


async def registered_pauses(st: ScaleStack) -> tuple[int, int, int]:
    """(register signals, events delivered, runs) over the pause router's continue-as-new chain
    (a `deliver` signal carries one event, a `deliver_many` signal several)."""
    registers = delivers = runs = 0
    async for execution in st.client.list_workflows(f"WorkflowId = '{PAUSES_ROUTER}'"):
        runs += 1
        handle = st.client.get_workflow_handle(PAUSES_ROUTER, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                name = event.workflow_execution_signaled_event_attributes.signal_name
                registers += name == "register"
                delivers += len(_delivered(event.workflow_execution_signaled_event_attributes))
    return registers, delivers, runs


def _delivered(attrs: Any) -> list[dict[str, Any]]:
    """The deliver payloads ({event, received_ms}) a pause-router signal carries."""
    if attrs.signal_name == "deliver":
        return [_json_payload(attrs.input) or {}]
    if attrs.signal_name == "deliver_many":
        return list(_json_payload(attrs.input) or [])
    return []


def _t(event: Any) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def _json_payload(payloads: Any) -> Any:
    try:
        return json.loads(payloads.payloads[0].data)
    except (IndexError, ValueError):
        return None


async def wake_breakdown(
    st: ScaleStack, keys: list[str], run_ids: dict[str, str], sent_at: dict[str, float],
    resumed: dict[str, float],
) -> dict[str, Any]:
    """Where event -> resumed goes, per segment (median and p99 ms over `keys`), from histories:
    the pause router's (deliver signal in, signal to the run out) and each run's."""
    deliver_at: dict[str, float] = {}
    router_wt_ms: list[float] = []
    async for execution in st.client.list_workflows(f"WorkflowId = '{PAUSES_ROUTER}'"):
        handle = st.client.get_workflow_handle(PAUSES_ROUTER, run_id=execution.run_id)
        wt_started: float | None = None
        async for e in handle.fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                for payload in _delivered(e.workflow_execution_signaled_event_attributes):
                    k = ((payload.get("event") or {}).get("data") or {}).get("k")
                    if k is not None:
                        deliver_at.setdefault(k, _t(e))
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                wt_started = _t(e)
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and wt_started:
                router_wt_ms.append((_t(e) - wt_started) * 1000)
    segments: dict[str, list[float]] = {
        "POST sent -> router got deliver signal": [],
        "router got deliver signal -> run got signal": [],
        "run got signal -> next step activity scheduled": [],
        "activity scheduled -> started": [],
        "activity started -> step body ran": [],
    }
    gate = asyncio.Semaphore(16)
    per_key: dict[str, list[float]] = {}

    async def run_events(k: str) -> None:
        async with gate:
            got: dict[str, float] = {}
            handle = st.client.get_workflow_handle(run_ids[k])
            async for e in handle.fetch_history_events():
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                    got.setdefault("signaled", _t(e))
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and "signaled" in got:
                    got.setdefault("scheduled", _t(e))
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and "scheduled" in got:
                    got.setdefault("started", _t(e))
        if k not in deliver_at or len(got) < 3:
            return
        points = [sent_at[k], deliver_at[k], got["signaled"], got["scheduled"], got["started"], resumed[k]]
        per_key[k] = [(b - a) * 1000 for a, b in zip(points, points[1:])]
        for name, ms in zip(segments, per_key[k]):
            segments[name].append(ms)

    await asyncio.gather(*(run_events(k) for k in keys))
    return {
        "runs": len(next(iter(segments.values()))),
        "segments_ms": {
            name: {"p50": core.percentile(v, 50), "p99": core.percentile(v, 99)}
            for name, v in segments.items()
        },
        "slowest": [  # the three slowest, segment by segment: where a tail goes
            {"key": k, "total_ms": sum(ms), "segments_ms": [round(m, 1) for m in ms]}
            for k, ms in sorted(per_key.items(), key=lambda kv: -sum(kv[1]))[:3]
        ],
        "router_workflow_tasks": len(router_wt_ms),
        "router_workflow_task_ms": {
            "p50": core.percentile(router_wt_ms, 50),
            "p99": core.percentile(router_wt_ms, 99),
            "max": max(router_wt_ms, default=math.nan),
        },
    }


async def bench_waits(st: ScaleStack, count: int, sampled: int, batch: int) -> dict[str, Any]:
    fn_id = scale_app.function_id("wait")
    keys = [f"k{i}" for i in range(count)]
    run_ids: dict[str, str] = {}
    cpu0 = cpu_snapshot(st)
    t0 = time.time()
    for first in range(0, count, batch):
        chunk = keys[first : first + batch]
        ids = await _post_events(
            st, [{"name": scale_app.event_name("wait"), "data": {"k": k}} for k in chunk]
        )
        run_ids.update({k: f"{fn_id}:{i}" for k, i in zip(chunk, ids, strict=True)})
    started = time.time()
    say(f"  waits: {count} runs started in {started - t0:.1f} s; waiting for their pauses ...")
    deadline = time.monotonic() + 150
    while True:
        st.check_alive()
        registers, _, _ = await registered_pauses(st)
        if registers >= count:
            break
        if time.monotonic() > deadline:
            raise core.BenchmarkError(f"waits: only {registers} of {count} pauses registered")
        await asyncio.sleep(1.0)
    all_waiting = time.time()
    cpu1 = cpu_snapshot(st)
    say(f"  waits: all {count} waiting after {all_waiting - t0:.1f} s; sending wake-up events ...")

    rng = random.Random(5)
    sample_keys = rng.sample(keys, min(sampled, count))
    chosen = set(sample_keys)
    rest = [k for k in keys if k not in chosen]
    sent_at: dict[str, float] = {}
    spacing = 0.025  # seconds between sampled events
    wake_start = time.time()
    for k in sample_keys:
        t = time.time()
        await _post_events(st, [{"name": scale_app.WAKE_EVENT, "data": {"k": k}}])
        sent_at[k] = t
        await asyncio.sleep(max(0.0, spacing - (time.time() - t)))
    bulk_start = time.time()
    for first in range(0, len(rest), batch):
        chunk = rest[first : first + batch]
        t = time.time()
        await _post_events(st, [{"name": scale_app.WAKE_EVENT, "data": {"k": k}} for k in chunk])
        sent_at.update({k: t for k in chunk})
    bulk_sent = time.time()
    error = None
    try:
        executions = await _closed(
            st, f"WorkflowType = '{fn_id}'", count, timeout=240, what="waits", stall=30
        )
    except Stalled as stalled:  # report what completed; the benchmark fails at its end
        error, executions = str(stalled), stalled.executions
        say(f"  waits: ERROR {error}")
    cpu2 = cpu_snapshot(st)
    last_close = max((e.close_time.timestamp() for e in executions if e.close_time), default=math.nan)
    closed_ids = {e.id for e in executions}
    incomplete = [k for k in keys if run_ids[k] not in closed_ids]
    sample_keys = [k for k in sample_keys if run_ids[k] in closed_ids]
    rest = [k for k in rest if run_ids[k] in closed_ids]
    keys = [k for k in keys if run_ids[k] in closed_ids]

    gate = asyncio.Semaphore(32)

    async def result(k: str) -> dict[str, Any]:
        async with gate:
            return await st.client.get_workflow_handle(run_ids[k]).result()

    results = dict(zip(keys, await asyncio.gather(*(result(k) for k in keys)), strict=True))
    unmatched = [k for k, r in results.items() if not r.get("matched")]
    if unmatched:
        raise core.BenchmarkError(f"waits: {len(unmatched)} runs resumed without their event, e.g. {unmatched[0]}")
    latency = {k: (results[k]["resumed"] - sent_at[k]) * 1000 for k in keys}
    sampled_ms = [latency[k] for k in sample_keys]
    bulk_ms = [latency[k] for k in rest]
    registers, delivers, router_runs = await registered_pauses(st)
    resumed = {k: results[k]["resumed"] for k in keys}
    breakdown = {
        "sampled": await wake_breakdown(st, sample_keys, run_ids, sent_at, resumed),
        "bulk": await wake_breakdown(st, rest[:: max(1, len(rest) // 200)], run_ids, sent_at, resumed),
    }
    return {
        "error": error,
        "incomplete_sample": [run_ids[k] for k in incomplete[:5]],
        "runs": count,
        "completed": len(executions),
        "matched": len(keys) - len(unmatched),
        "start_seconds": started - t0,
        "all_waiting_seconds": all_waiting - t0,
        "sampled": len(sampled_ms),
        "sampled_spacing_ms": spacing * 1000,
        "sampled_seconds": bulk_start - wake_start,
        "sampled_p50_ms": core.percentile(sampled_ms, 50),
        "sampled_p99_ms": core.percentile(sampled_ms, 99),
        "sampled_max_ms": max(sampled_ms) if sampled_ms else None,
        "bulk": len(bulk_ms),
        "bulk_send_seconds": bulk_sent - bulk_start,
        "bulk_p50_ms": core.percentile(bulk_ms, 50),
        "bulk_p99_ms": core.percentile(bulk_ms, 99),
        "bulk_max_ms": max(bulk_ms) if bulk_ms else None,
        "bulk_to_last_close_seconds": last_close - bulk_start,
        "router": {"runs": router_runs, "register_signals": registers, "deliver_signals": delivers},
        "breakdown": breakdown,
        "cpu_s_setup": cpu_delta(cpu0, cpu1),
        "cpu_s_wake": cpu_delta(cpu1, cpu2),
        "wake_seconds": last_close - wake_start,
    }


# -- d. large runs ----------------------------------------------------------------------------------


LARGE = {
    f"steps-{scale_app.MANY_STEPS}": f"{scale_app.MANY_STEPS} steps",
    "big-step": f"1 step output of {scale_app.BIG_CHARS + 2} JSON bytes (4 MiB - 1022)",
    "big-state": f"{scale_app.BIG_STATE_STEPS} step outputs of {scale_app.BIG_CHARS + 2} JSON bytes "
    f"({scale_app.BIG_STATE_STEPS * (scale_app.BIG_CHARS + 2)} bytes of state)",
}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


async def large_run(st: ScaleStack, name: str, timeout: float) -> dict[str, Any]:
    fn_id = scale_app.function_id(name)
    store_before = _dir_bytes(st.payload_dir)
    cpu0 = cpu_snapshot(st)
    t0 = time.time()
    (event_id,) = await _post_events(st, [{"name": scale_app.event_name(name), "data": {}}])
    run_id = f"{fn_id}:{event_id}"
    try:
        value = await asyncio.wait_for(st.client.get_workflow_handle(run_id).result(), timeout)
    except TimeoutError:
        raise core.BenchmarkError(f"large run {name} ({run_id}) did not finish in {timeout:g} s") from None
    wall = time.time() - t0
    cpu1 = cpu_snapshot(st)
    if not value or value.get("ok") is False:
        raise core.BenchmarkError(f"large run {name}: unexpected result {value!r:.300}")
    chain = []
    for _ in range(50):  # visibility catches up with the chain's last run shortly
        chain = [e async for e in st.client.list_workflows(f"WorkflowId = '{run_id}'")]
        if chain and all(e.status is not None and e.close_time for e in chain):
            break
        await asyncio.sleep(0.2)
    chain.sort(key=lambda e: e.start_time)
    runs = [
        {
            "run_id": e.run_id,
            "status": e.status.name if e.status else None,
            "history_events": e.history_length,
            "history_bytes": int(e.raw_info.history_size_bytes),
        }
        for e in chain
    ]
    via_gateway = await st.http.get(f"/v1/runs/{run_id}")
    gateway_status = (
        via_gateway.json().get("data", {}).get("status")
        if via_gateway.status_code == 200
        else f"HTTP {via_gateway.status_code}: {via_gateway.text[:200]}"
    )
    return {
        "what": LARGE[name],
        "run_id": run_id,
        "result": value,
        "wall_s": wall,
        "chain_runs": len(runs),
        "history_events": sum(r["history_events"] for r in runs),
        "history_bytes": sum(r["history_bytes"] for r in runs),
        "max_run_history_bytes": max((r["history_bytes"] for r in runs), default=0),
        "chain": runs,
        "payload_store_bytes_added": _dir_bytes(st.payload_dir) - store_before,
        "gateway_status": gateway_status,
        "cpu_s": cpu_delta(cpu0, cpu1),
    }


async def bench_large(st: ScaleStack) -> dict[str, Any]:
    out = {}
    for name in LARGE:
        out[name] = await large_run(st, name, timeout=300)
        say(f"  large run {name}: {out[name]['wall_s']:.1f} s, {out[name]['chain_runs']} run(s)")
    return out


# -- report -----------------------------------------------------------------------------------------


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def report(result: dict[str, Any]) -> str:
    meta = result["meta"]
    f, x = core._f, core._x
    out = [
        "",
        "Scale benchmark: worker, gateway and baseline worker as separate processes; shared file "
        "payload store",
        f"source {meta['source']}, temporalio {meta['temporalio']}, {meta['cpus']} CPUs, load "
        f"average {meta['loadavg_start']} -> {meta['loadavg_end']}",
    ]
    t = result.get("throughput")
    if t:
        out += ["", f"a. throughput: {t['runs']} one-step runs per round, batches of {t['batch']}, "
                f"median of {t['rounds']} interleaved rounds (first send -> last close)"]
        rows = []
        for side, label in (("ours", "ours (POST /e batches)"), ("base", "base (start_workflow)")):
            s = t[side]
            cpu = s["median_round"]["cpu_s"]
            runs = s["median_round"]["runs"]
            rows.append([
                label, f(s["runs_per_s"]), " ".join(str(v) for v in s["runs_per_s_all"]),
                f(s["accepted_per_s"]),
                " ".join(f"{k} {cpu[k] * 1000 / runs:.1f}" for k in cpu),
            ])
        out.append(core._table(
            ["", "runs/s", "rounds", "accepted/s", "CPU ms per run (median round)"], rows
        ))
        out.append(f"   ratio ours/base: {x(t['ratio'])}")
    w = result.get("waits")
    if w:
        out += [
            "",
            f"b. wait_for_event: {w['runs']} runs waiting on {scale_app.WAKE_EVENT!r} with different "
            "keys (if_exp async.data.k == event.data.k)",
            f"   {w['runs']} runs started in {f(w['start_seconds'])} s, all waiting after "
            f"{f(w['all_waiting_seconds'])} s",
            f"   sampled: {w['sampled']} events one at a time every {w['sampled_spacing_ms']:.0f} ms "
            f"(took {f(w['sampled_seconds'])} s): event -> resumed p50 {f(w['sampled_p50_ms'])} ms, "
            f"p99 {f(w['sampled_p99_ms'])} ms, max {f(w['sampled_max_ms'])} ms",
            f"   bulk: {w['bulk']} events in batches (sent in {f(w['bulk_send_seconds'])} s): "
            f"event -> resumed p50 {f(w['bulk_p50_ms'])} ms, p99 {f(w['bulk_p99_ms'])} ms, "
            f"max {f(w['bulk_max_ms'])} ms; last run closed {f(w['bulk_to_last_close_seconds'])} s "
            "after the bulk began",
            *([f"   ERROR: {w['error']} (e.g. {', '.join(w['incomplete_sample'][:2])})"]
              if w["error"] else []),
            f"   completed {w['completed']}/{w['runs']}, matched {w['matched']}/{w['runs']}; pause "
            f"router: {w['router']['runs']} run(s) in its chain, {w['router']['register_signals']} "
            f"register signals, {w['router']['deliver_signals']} events delivered",
            "   CPU s while starting+registering: " + ", ".join(
                f"{k} {v:.1f}" for k, v in w["cpu_s_setup"].items()
            ),
            "   CPU s while waking: " + ", ".join(f"{k} {v:.1f}" for k, v in w["cpu_s_wake"].items())
            + f" (over {f(w['wake_seconds'])} s)",
        ]
        for kind, bd in w["breakdown"].items():
            wt = bd["router_workflow_task_ms"]
            out.append(f"   where event -> resumed goes ({kind}, {bd['runs']} runs; ms p50 / p99):")
            out += [f"     {f(v['p50']):>8} / {f(v['p99']):>8}  {name}"
                    for name, v in bd["segments_ms"].items()]
            out += [f"     slowest: {s['total_ms']:.0f} ms = {' + '.join(f(m) for m in s['segments_ms'])}"
                    for s in bd.get("slowest", [])]
        out.append(f"   pause router workflow tasks: {wt['p50']:.1f} ms p50, {wt['p99']:.1f} ms p99, "
                   f"{wt['max']:.1f} ms max over {bd['router_workflow_tasks']} tasks")
    mem = result.get("memory")
    if mem:
        out += ["", "c. peak RSS (VmHWM, MiB; current VmRSS in brackets)"]
        names = list(next(iter(mem.values())))
        rows = [
            [when, *(f"{_mib(mem[when][n]['hwm_kib'])} ({_mib(mem[when][n]['rss_kib'])})" for n in names)]
            for when in mem
        ]
        out.append(core._table(["", *names], rows))
    large = result.get("large")
    if large:
        out += ["", "d. large runs (must complete; history summed over the continue-as-new chain)"]
        rows = [
            [
                name, r["what"], f(r["wall_s"]), str(r["chain_runs"]), str(r["history_events"]),
                str(r["history_bytes"]), str(r["max_run_history_bytes"]),
                str(r["payload_store_bytes_added"]), str(r["gateway_status"]),
            ]
            for name, r in large.items()
        ]
        out.append(core._table(
            ["run", "what", "wall s", "runs in chain", "history events", "history bytes",
             "largest run's bytes", "payload store bytes", "GET /v1/runs"],
            rows,
        ))
    if t:
        verdict = "ok" if t["ratio"] >= TARGET_THROUGHPUT_RATIO else "MISSED"
        out += ["", "Targets (informational):",
                f"  throughput: {x(t['ratio'])} (target >= {TARGET_THROUGHPUT_RATIO:.2f}x) {verdict}"]
    return "\n".join(out)


# -- main -------------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    started = time.monotonic()
    result: dict[str, Any] = {"memory": {}}
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        async with running_stack(tmp) as st:
            result["memory"]["idle"] = memory_snapshot(st)
            if args.tput_runs:
                say(f"a. throughput: {args.rounds} rounds x {args.tput_runs} runs per side ...")
                result["throughput"] = await bench_throughput(
                    st, args.tput_runs, args.rounds, args.batch
                )
                result["memory"]["after a"] = memory_snapshot(st)
            if args.waits:
                say(f"b. wait_for_event: {args.waits} waiting runs ...")
                result["waits"] = await bench_waits(st, args.waits, args.sampled, 100)
                if result["waits"]["error"]:
                    result.setdefault("errors", []).append(result["waits"]["error"])
                result["memory"]["after b"] = memory_snapshot(st)
            if not args.skip_large:
                say("d. large runs ...")
                result["large"] = await bench_large(st)
                result["memory"]["after d"] = memory_snapshot(st)
        say("stack stopped")
    finally:
        if result.get("errors") or sys.exc_info()[0] is not None:
            kept = Path(tempfile.mkdtemp(prefix="bench-scale-logs-"))
            for log in tmp.glob("*.log"):
                shutil.copy(log, kept / log.name)
            say(f"process logs kept in {kept}")
        shutil.rmtree(tmp, ignore_errors=True)
    result["meta"] = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seconds": round(time.monotonic() - started, 1),
        "loadavg_start": loadavg_start,
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "source": core._source_revision(),
        "temporalio": core._version("temporalio"),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/scale.py",
        description="Throughput, wait_for_event fan-in, peak RSS and large runs.",
    )
    parser.add_argument("--tput-runs", type=int, default=300,
                        help="one-step runs per throughput round and side (0 skips a; default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per side (default 3)")
    parser.add_argument("--batch", type=int, default=50, help="events / starts per batch (default 50)")
    parser.add_argument("--waits", type=int, default=1000,
                        help="runs waiting for an event (0 skips b; default 1000)")
    parser.add_argument("--sampled", type=int, default=200,
                        help="wake-up events sent one at a time (default 200; the rest in bulk)")
    parser.add_argument("--skip-large", action="store_true", help="skip the large runs (d)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write all results here")
    args = parser.parse_args(argv)
    if args.tput_runs < 0 or args.waits < 0 or args.rounds < 1 or args.batch < 1:
        parser.error("--tput-runs and --waits must be >= 0, --rounds and --batch >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return core.run_main(benchmark, parse_args(argv), report)


if __name__ == "__main__":
    core.exit_now(main())
