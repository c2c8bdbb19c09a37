"""The Inngest-style functions the core benchmark runs (served by `temporal_worker.run_worker`).

`steps-<n>` runs n `step.run` steps in sequence; each step returns `time.time()` taken inside the
step body, and the function returns the list of those stamps. The trigger event is
`bench/steps-<n>`. The benchmark's hand-written Temporal counterpart is in `baseline.py`.
"""

from __future__ import annotations

import time
from typing import Any

from compat import inngest

APP_ID = "bench"
STEP_COUNTS = (1, 10, 20, 100)

client = inngest.Inngest(app_id=APP_ID)


async def stamp() -> float:
    """The step body: the wall-clock time at which it ran."""
    return time.time()


def function_id(n: int) -> str:
    """Composite id (and Temporal workflow type) of the n-step function."""
    return f"{APP_ID}-steps-{n}"


def event_name(n: int) -> str:
    return f"bench/steps-{n}"


def _steps_function(n: int) -> inngest.Function[Any]:
    @client.create_function(fn_id=f"steps-{n}", trigger=inngest.TriggerEvent(event=event_name(n)))
    async def steps(ctx: inngest.Context) -> list[float]:
        stamps = []
        for i in range(n):
            stamps.append(await ctx.step.run(f"s{i}", stamp))
        return stamps

    return steps


steps_1, steps_10, steps_20, steps_100 = (_steps_function(n) for n in STEP_COUNTS)
