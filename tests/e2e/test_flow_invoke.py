"""Invoked runs go through start-time flow control, as in Inngest."""

from __future__ import annotations

import uuid

import pytest
from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_invoke_goes_through_start_time_flow_control(stack: Stack) -> None:
    """Invoking a rate-limited function: the first invoke runs, the second fails at once (Inngest)."""
    run = await stack.run_event("cases/invoke-limited", {"key": uuid.uuid4().hex[:12]}, timeout=40)
    assert {"first": "child ran", "second": "InngestInvokeSkippedError"} == run["output"]
