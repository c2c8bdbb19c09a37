"""priority: the run factor moves a run ahead of others waiting in a concurrency queue."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_priority_runs_higher_factor_first_in_a_backlog(stack: Stack) -> None:
    """With a backlog, a run with priority factor 600 goes before one queued earlier at 0."""
    key = uuid.uuid4().hex[:12]
    (blocker,) = await stack.send({"name": "cases/prioritized", "data": {"key": key, "label": "a", "priority": 0}})
    await stack.wait_records(key, "body-start", 1)
    await stack.send({"name": "cases/prioritized", "data": {"key": key, "label": "low", "priority": 0}})
    await asyncio.sleep(0.2)
    await stack.send({"name": "cases/prioritized", "data": {"key": key, "label": "high", "priority": 600}})
    await stack.wait_records(key, "body-end", 3, timeout=30)
    order = [r["label"] for r in sorted(stack.records_of(key), key=lambda r: r["t"]) if r["what"] == "body-start"]
    assert ["a", "high", "low"] == order
