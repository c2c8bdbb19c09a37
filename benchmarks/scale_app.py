"""Functions of the scale benchmark (benchmarks/scale.py), served by a worker process
(`python -m temporal_worker worker --app scale_app`, with benchmarks/ on PYTHONPATH).

- `tput`: one `step.run` returning `time.time()` (the throughput part; baseline: BaselineSteps n=1).
- `wait`: `step.wait_for_event("wake", event="scale/wake", if_exp="async.data.k == event.data.k")`,
  then one `step.run` stamping when the run resumed.
- `steps-1000`, `big-step`, `big-state`: the largest runs Inngest allows (1,000 steps; one step
  output just under 4 MiB; 8 such outputs, just under 32 MiB of state).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from compat import inngest

APP_ID = "bench-scale"
WAKE_EVENT = "scale/wake"
WAIT_TIMEOUT = datetime.timedelta(minutes=30)
MANY_STEPS = 1000
BIG_CHARS = 4 * 1024 * 1024 - 1024  # JSON text of each big output: just under Inngest's 4 MiB
BIG_STATE_STEPS = 8  # 8 x (4 MiB - 1 KiB): just under Inngest's 32 MiB of run state

client = inngest.Inngest(app_id=APP_ID)


def function_id(name: str) -> str:
    return f"{APP_ID}-{name}"


def event_name(name: str) -> str:
    return f"scale/{name}"


async def stamp() -> float:
    return time.time()


def big(i: int) -> str:
    """A distinct string of BIG_CHARS characters (distinct, so no two payloads are the same)."""
    head = f"step {i} "
    return head + "x" * (BIG_CHARS - len(head))


@client.create_function(fn_id="tput", trigger=inngest.TriggerEvent(event=event_name("tput")))
async def tput(ctx: inngest.Context) -> list[float]:
    return [await ctx.step.run("s0", stamp)]


@client.create_function(
    fn_id="wait", trigger=inngest.TriggerEvent(event=event_name("wait")), retries=0
)
async def wait(ctx: inngest.Context) -> dict[str, Any]:
    event = await ctx.step.wait_for_event(
        "wake", event=WAKE_EVENT, if_exp="async.data.k == event.data.k", timeout=WAIT_TIMEOUT
    )
    resumed = await ctx.step.run("resumed", stamp)
    return {
        "resumed": resumed,
        "matched": event is not None and event.data.get("k") == ctx.event.data.get("k"),
    }


async def _value(i: int) -> int:
    return i


@client.create_function(
    fn_id=f"steps-{MANY_STEPS}",
    trigger=inngest.TriggerEvent(event=event_name(f"steps-{MANY_STEPS}")),
    retries=0,
)
async def many_steps(ctx: inngest.Context) -> dict[str, Any]:
    total = 0
    for i in range(MANY_STEPS):
        total += await ctx.step.run(f"s{i}", _value, i)
    return {"steps": MANY_STEPS, "sum": total}


async def _big_step(i: int) -> str:
    return big(i)


@client.create_function(
    fn_id="big-step", trigger=inngest.TriggerEvent(event=event_name("big-step")), retries=0
)
async def big_step(ctx: inngest.Context) -> dict[str, Any]:
    out = await ctx.step.run("big", _big_step, 0)
    return {"chars": len(out), "ok": out == big(0)}


@client.create_function(
    fn_id="big-state", trigger=inngest.TriggerEvent(event=event_name("big-state")), retries=0
)
async def big_state(ctx: inngest.Context) -> dict[str, Any]:
    outs = [await ctx.step.run(f"big-{i}", _big_step, i) for i in range(BIG_STATE_STEPS)]
    return {
        "steps": len(outs),
        "chars": sum(len(o) for o in outs),
        "ok": all(o == big(i) for i, o in enumerate(outs)),
    }
