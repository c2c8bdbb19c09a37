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


async def serve() -> None:
    """Serve the baseline on TEMPORAL_ADDRESS until SIGTERM / SIGINT (scale.py's worker process)."""
    import asyncio
    import os
    import signal

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client, task_queue=TASK_QUEUE, workflows=[BaselineSteps], activities=[stamp]
    ):
        print("baseline worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    import asyncio

    asyncio.run(serve())
