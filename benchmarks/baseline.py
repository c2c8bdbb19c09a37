"""The hand-written Temporal baseline: a plain workflow looping `execute_activity(stamp)`.

It gets the same retry policy and timeouts our run workflow gives each `step.run` activity
(`BaselineInput` carries them), and runs on a regular task queue like our functions do.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

TASK_QUEUE = "bench-baseline"


@dataclasses.dataclass
class BaselineInput:
    n: int
    retry_initial_interval: float
    retry_max_interval: float
    maximum_attempts: int
    step_timeout: float
    heartbeat_timeout: float


@activity.defn(name="stamp")
async def stamp() -> float:
    """The wall-clock time at which the activity ran."""
    return time.time()


@workflow.defn(name="BaselineSteps")
class BaselineSteps:
    @workflow.run
    async def run(self, inp: BaselineInput) -> list[float]:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=inp.retry_initial_interval),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=inp.retry_max_interval),
            maximum_attempts=inp.maximum_attempts,
            non_retryable_error_types=["NonRetriableError"],
        )
        stamps: list[float] = []
        for i in range(inp.n):
            stamps.append(
                await workflow.execute_activity(
                    stamp,
                    activity_id=f"s{i}",
                    retry_policy=retry,
                    start_to_close_timeout=timedelta(seconds=inp.step_timeout),
                    heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout),
                )
            )
        return stamps
