"""No lost wake-up: every event accepted after a wait registered reaches it, via any gateway."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from e2e_support import Stack, extra_process_stack

pytestmark = pytest.mark.temporal


async def test_waits_resume_with_two_gateway_processes(stack: Stack, tmp_path) -> None:
    """20 runs wait; each gets its event right after its wait registers, alternating gateways."""
    async with extra_process_stack(stack, tmp_path) as http2:
        keys = [uuid.uuid4().hex[:10] for _ in range(20)]
        event_ids = await stack.send([{"name": "cases/wait-key", "data": {"key": k}} for k in keys])
        runs = [(await stack.runs(eid))[0]["run_id"] for eid in event_ids]

        async def resume(i: int, key: str, run_id: str) -> None:
            await stack.wait_history_event(run_id, interval=0.02, what=f"run {run_id} to wait")
            http = stack.http if i % 2 == 0 else http2
            decoy = {"name": "cases/key-arrived", "data": {"key": key + "-other", "n": -1}}
            real = {"name": "cases/key-arrived", "data": {"key": key, "n": i}}
            r = await http.post("/e/k", json=[decoy, real])
            assert 200 == r.status_code, r.text

        await asyncio.gather(*(resume(i, k, r) for i, (k, r) in enumerate(zip(keys, runs))))
        results = [await stack.finished_run(r) for r in runs]
        assert list(range(20)) == [r["output"] for r in results]
