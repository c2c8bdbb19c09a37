"""The stock `inngest` SDK (from PyPI, unmodified) sends events to our gateway."""

from __future__ import annotations

import uuid

import inngest
import pytest

from e2e_support import Stack

pytestmark = pytest.mark.temporal


async def test_stock_inngest_client_send_gets_ids_and_triggers_run(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INNGEST_DEV", stack.gateway_url)
    client = inngest.Inngest(app_id="stock-sender", is_production=False)
    key = uuid.uuid4().hex[:12]
    ids = await client.send(inngest.Event(name="cases/child", data={"key": key}))
    assert 1 == len(ids)
    (run,) = await stack.runs(ids[0])
    done = await stack.finished_run(run["run_id"])
    assert {"child_of": key} == done["output"]


def test_stock_inngest_client_send_sync(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", stack.gateway_url)
    client = inngest.Inngest(app_id="stock-sender", is_production=False)
    ids = client.send_sync([inngest.Event(name="cases/nothing-listens", data={}), inngest.Event(name="cases/nothing-listens")])
    assert 2 == len(ids)


async def test_compat_client_send_reaches_gateway(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from compat import inngest as compat_inngest

    monkeypatch.setenv("INNGEST_BASE_URL", stack.gateway_url)
    client = compat_inngest.Inngest(app_id="compat-sender")
    key = uuid.uuid4().hex[:12]
    ids = await client.send(compat_inngest.Event(name="cases/child", data={"key": key}))
    (run,) = await stack.runs(ids[0])
    assert {"child_of": key} == (await stack.finished_run(run["run_id"]))["output"]
