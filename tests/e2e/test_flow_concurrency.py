"""Concurrency counts executing steps, not runs (case C06), with keys and priority."""

from __future__ import annotations

import time
import uuid

import pytest
from e2e_support import Stack, extra_process_stack

pytestmark = pytest.mark.temporal


async def test_c06_concurrency_limit_with_sleeping_runs(stack: Stack) -> None:
    """limit=1, 5 runs that sleep 3 s then run a short step: ~3 s + the short steps, not 15 s."""
    key = uuid.uuid4().hex[:12]
    started = time.time()
    event_ids = await stack.send(
        [{"name": "cases/conc-sleepers", "data": {"key": key, "label": str(i)}} for i in range(5)]
    )
    runs = [(await stack.runs(e))[0]["run_id"] for e in event_ids]
    results = [await stack.finished_run(r, timeout=60) for r in runs]
    elapsed = time.time() - started
    assert ["Completed"] * 5 == [r["status"] for r in results]
    assert elapsed < 10.0, f"sleeping runs must hold no slot: took {elapsed:.1f}s (15 s if they did)"
    bodies = sorted(
        (r["t"], r["what"], r["label"])
        for r in stack.records_of(key)
        if r["what"] in ("body-start", "body-end")
    )
    depth = 0
    for _, what, _label in bodies:
        depth += 1 if what == "body-start" else -1
        assert depth <= 1, f"two step bodies overlapped: {bodies}"
    assert 10 == len(bodies)


async def test_concurrency_limit_holds_across_two_workers_and_two_gateways(stack: Stack, tmp_path) -> None:
    """A second worker process and a second gateway: step bodies of one key still never overlap."""
    async with extra_process_stack(stack, tmp_path, worker=True) as http2:
        key = uuid.uuid4().hex[:12]
        event_ids = []
        for i in range(8):
            body = {"name": "cases/conc-sleepers", "data": {"key": key, "label": str(i)}}
            r = await (stack.http if i % 2 == 0 else http2).post("/e/k", json=body)
            assert 200 == r.status_code, r.text
            event_ids.append(r.json()["ids"][0])
        runs = [(await stack.runs(e))[0]["run_id"] for e in event_ids]
        results = [await stack.finished_run(r, timeout=90) for r in runs]
        assert ["Completed"] * 8 == [r["status"] for r in results]
        bodies = sorted(
            (r["t"], r["what"]) for r in stack.records_of(key) if r["what"] in ("body-start", "body-end")
        )
        depth = 0
        for _, what in bodies:
            depth += 1 if what == "body-start" else -1
            assert depth <= 1, "two step bodies of one key overlapped across processes"
