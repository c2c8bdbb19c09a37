"""Histories of the start-time flow-control entities replay deterministically against the code."""

from __future__ import annotations

import uuid

import pytest
import temporalio.worker
from flow_support import FlowStack

from temporal_worker._flow_entities import FLOW_WORKFLOWS
from temporal_worker._worker import sandboxed_runner

pytestmark = pytest.mark.temporal


async def test_flow_entity_histories_replay_without_nondeterminism(flow: FlowStack) -> None:
    key = uuid.uuid4().hex[:10]
    await flow.send([{"name": "flow/rate-limit", "data": {"key": key}} for _ in range(3)])
    for n in range(4):
        await flow.send({"name": "flow/batch", "data": {"key": key, "n": n}})
        await flow.send({"name": "flow/debounce", "data": {"key": key, "n": n}})
    await flow.send({"name": "flow/singleton-skip", "data": {"key": key, "hold": 1}})
    await flow.send({"name": "flow/singleton-skip", "data": {"key": key, "hold": 1}})
    runs = await flow.wait_records(key, "started", 5, timeout=30)  # 2 rate, 2 batch, 1 debounce (+1 singleton)
    assert len(runs) >= 5
    names = ["InngestRateLimit", "InngestBatch", "InngestDebounce", "InngestSingleton"]
    types = ", ".join(f"'{n}'" for n in names)
    histories = []
    async for wf in flow.client.list_workflows(f"WorkflowType IN ({types})"):
        histories.append(await flow.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history())
    assert set(names) <= {
        h.events[0].workflow_execution_started_event_attributes.workflow_type.name for h in histories
    }
    replayer = temporalio.worker.Replayer(
        workflows=list(FLOW_WORKFLOWS), workflow_runner=sandboxed_runner(),
        data_converter=flow.client.data_converter,
    )
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, history.workflow_id
