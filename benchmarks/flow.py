"""Flow-control benchmark: the added latency per step of a concurrency-limited function.

    python benchmarks/flow.py [--runs N] [--json out.json]

Same stack as core.py (in-memory dev server, gateway subprocess, our worker in this process), serving
benchmarks/flow_app.py: `concurrency-20` (20 `step.run` steps, `concurrency=[Concurrency(limit=10,
key="event.data.k")]`) and `plain-20`, the same function without limits. Runs are started directly
(as the routing core starts them), one at a time, so no step ever waits for a slot: what is measured
is the cost of taking and giving back a slot at every step. The two variants alternate run by run
(the order flips every time); one warm-up each, then N measured runs; every figure is the median.

Per-step ms = (last step's stamp - first step's stamp) / 19. A timeline of one run of each variant
(from its history: offsets of each event after the previous step activity completed, averaged over
steps) shows where the added time goes. Exits non-zero only on errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import core  # puts the repository root and benchmarks/ on sys.path
import flow_app
from temporalio.api.enums.v1 import EventType

logger = logging.getLogger("benchmarks.flow")
say = core.say
VARIANTS = ("plain", "concurrency")


async def one_run(stack: core.Stack, variant: str) -> core.RunSample:
    name = f"{variant}-{flow_app.STEPS}"
    event = core._our_event(flow_app.event_name(name), {"k": "bench"})
    return await core.run_function(
        stack, flow_app.function_id(name), flow_app.STEPS, event, flow_app.APP_ID
    )


def _label(event: Any) -> str:
    label = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    if event.HasField("workflow_execution_signaled_event_attributes"):
        label += f"({event.workflow_execution_signaled_event_attributes.signal_name})"
    if event.HasField("signal_external_workflow_execution_initiated_event_attributes"):
        label += f"({event.signal_external_workflow_execution_initiated_event_attributes.signal_name})"
    if event.HasField("activity_task_scheduled_event_attributes"):
        label += "(step)"
    return label


async def step_timeline(stack: core.Stack, workflow_id: str) -> dict[str, Any]:
    """Mean offset (ms) of each event after the previous step activity completed, over steps 2..n.

    Repeated event types get #2, #3 ... in their order inside the step. Only steps whose event
    sequence is the most common one are averaged (the first and last differ slightly)."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    events = list(history.events)
    completed = [
        i for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]
    gaps: list[list[tuple[str, float]]] = []
    for a, b in zip(completed, completed[1:]):
        t0 = events[a].event_time.ToNanoseconds()
        seen: Counter[str] = Counter()
        gap = []
        for e in events[a + 1 : b + 1]:
            label = _label(e)
            seen[label] += 1
            if seen[label] > 1:
                label += f"#{seen[label]}"
            gap.append((label, (e.event_time.ToNanoseconds() - t0) / 1e6))
        gaps.append(gap)
    shapes = Counter(tuple(label for label, _ in g) for g in gaps)
    if not shapes:
        return {"events_per_step": 0, "steps_averaged": 0, "offsets_ms": []}
    shape, count = shapes.most_common(1)[0]
    same = [g for g in gaps if tuple(label for label, _ in g) == shape]
    offsets = [
        (label, sum(g[i][1] for g in same) / len(same)) for i, label in enumerate(shape)
    ]
    return {
        "events_per_step": len(shape),
        "steps_averaged": count,
        "history_events": len(events),
        "offsets_ms": offsets,
    }


async def bench(stack: core.Stack, runs: int) -> dict[str, Any]:
    samples: dict[str, list[core.RunSample]] = {v: [] for v in VARIANTS}
    for rep in range(runs + 1):  # rep 0 is the warm-up
        order = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
        for variant in order:
            sample = await one_run(stack, variant)
            if rep > 0:
                samples[variant].append(sample)
        say(f"  {'warm-up' if rep == 0 else f'run {rep}/{runs}'} done")
    out: dict[str, Any] = {}
    n = flow_app.STEPS
    for variant, got in samples.items():
        per_step = [s.per_step_ms for s in got if s.per_step_ms is not None]
        out[variant] = {
            "per_step_ms": core.median(per_step),
            "per_step_ms_min": min(per_step),
            "per_step_ms_max": max(per_step),
            "whole_ms": core.median([s.whole_ms for s in got]),
            "cpu_self_ms_per_step": core.median([s.cpu_self_ms / n for s in got]),
            "cpu_server_ms_per_step": core.median(
                [s.cpu_server_ms / n for s in got if s.cpu_server_ms is not None]
            ),
            "history": await core.history_of(stack.client, got[-1].workflow_id),
            "timeline": await step_timeline(stack, got[-1].workflow_id),
            "samples": [dataclasses.asdict(s) for s in got],
        }
    # The semaphore (an entity workflow per key) ends when it is idle: count how often one started.
    count = await stack.client.count_workflows("WorkflowType = 'InngestConcurrency'")
    out["semaphore_executions"] = count.count
    out["semaphore_executions_per_step"] = count.count / ((runs + 1) * n)
    plain, limited = out["plain"], out["concurrency"]
    out["added_ms_per_step"] = limited["per_step_ms"] - plain["per_step_ms"]
    out["ratio"] = {
        "per_step": core.ratio(limited["per_step_ms"], plain["per_step_ms"]),
        "cpu_self": core.ratio(limited["cpu_self_ms_per_step"], plain["cpu_self_ms_per_step"]),
        "cpu_server": core.ratio(limited["cpu_server_ms_per_step"], plain["cpu_server_ms_per_step"]),
    }
    return out


def report(result: dict[str, Any]) -> str:
    r, meta = result["flow"], result["meta"]
    f, x = core._f, core._x
    out = [
        "",
        f"Flow-control benchmark: {flow_app.STEPS}-step function with concurrency "
        f"(limit {flow_app.CONCURRENCY_LIMIT}, key {flow_app.CONCURRENCY_KEY}, no contention) vs "
        "the same function without limits",
        f"median of {meta['runs']} interleaved runs after 1 warm-up; load average "
        f"{meta['loadavg_start']} -> {meta['loadavg_end']}; source {meta['source']}",
        "",
    ]
    rows = []
    for v in VARIANTS:
        o = r[v]
        rows.append([
            v, f(o["per_step_ms"]), f"{f(o['per_step_ms_min'])}-{f(o['per_step_ms_max'])}",
            f(o["whole_ms"], 0), f(o["cpu_self_ms_per_step"], 2), f(o["cpu_server_ms_per_step"], 2),
            str(o["history"]["events"]), str(o["history"]["bytes"]),
        ])
    rows.append([
        "ratio", x(r["ratio"]["per_step"]), "", "", x(r["ratio"]["cpu_self"]),
        x(r["ratio"]["cpu_server"]), "", "",
    ])
    out.append(core._table(
        ["", "per-step ms", "min-max", "whole-run ms", "process CPU ms/step",
         "server CPU ms/step", "history events", "history bytes"],
        rows,
    ))
    out.append(f"added latency per step: {f(r['added_ms_per_step'])} ms "
               f"(ratio {x(r['ratio']['per_step'])}; report only, no target)")
    out.append(
        f"semaphore workflow executions: {r['semaphore_executions']} for {meta['runs'] + 1} runs "
        f"({r['semaphore_executions_per_step']:.2f} per step; the semaphore ends when idle, so an "
        "uncontended step starts a new one)"
    )
    for v in VARIANTS:
        t = r[v]["timeline"]
        out += ["", f"where a step's time goes ({v}; one run, mean over {t['steps_averaged']} steps, "
                    f"ms after the previous step activity completed):"]
        out += [f"  {ms:7.1f}  {label}" for label, ms in t["offsets_ms"]]
    return "\n".join(out)


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp:
        async with core.running_stack(
            Path(tmp), app="flow_app", sync_fn_id=flow_app.function_id(f"plain-{flow_app.STEPS}")
        ) as stack:
            say(f"flow: {args.runs} runs per variant + 1 warm-up, interleaved ...")
            result = await bench(stack, args.runs)
        say("stack stopped")
    return {
        "meta": {
            "runs": args.runs,
            "seconds": round(time.monotonic() - started, 1),
            "loadavg_start": loadavg_start,
            "loadavg_end": [round(v, 2) for v in os.getloadavg()],
            "source": core._source_revision(),
            "temporalio": core._version("temporalio"),
        },
        "flow": result,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/flow.py",
        description="Added latency per step of a concurrency-limited function.",
    )
    parser.add_argument("--runs", type=int, default=9, help="measured runs per variant (default 9)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write all results here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return core.run_main(benchmark, args, report)


if __name__ == "__main__":
    core.exit_now(main())
