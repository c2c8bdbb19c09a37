"""Functions of the flow-control benchmark (benchmarks/flow.py), served by `run_worker`.

`plain-20` and `concurrency-20` run the same 20 `step.run` steps, each returning `time.time()` taken
inside the step body; `concurrency-20` has `concurrency=[Concurrency(limit=10, key="event.data.k")]`.
"""

from __future__ import annotations

from typing import Any

from bench_app import stamp
from compat import inngest

APP_ID = "bench-flow"
STEPS = 20
CONCURRENCY_LIMIT = 10
CONCURRENCY_KEY = "event.data.k"

client = inngest.Inngest(app_id=APP_ID)


def function_id(name: str) -> str:
    return f"{APP_ID}-{name}"


def event_name(name: str) -> str:
    return f"bench-flow/{name}"


async def _steps(ctx: inngest.Context) -> list[float]:
    return [await ctx.step.run(f"s{i}", stamp) for i in range(STEPS)]


@client.create_function(
    fn_id=f"plain-{STEPS}", trigger=inngest.TriggerEvent(event=event_name(f"plain-{STEPS}"))
)
async def plain(ctx: inngest.Context) -> list[float]:
    return await _steps(ctx)


@client.create_function(
    fn_id=f"concurrency-{STEPS}",
    trigger=inngest.TriggerEvent(event=event_name(f"concurrency-{STEPS}")),
    concurrency=[inngest.Concurrency(limit=CONCURRENCY_LIMIT, key=CONCURRENCY_KEY)],
)
async def limited(ctx: inngest.Context) -> list[float]:
    return await _steps(ctx)


VARIANTS: dict[str, Any] = {"plain": plain, "concurrency": limited}
