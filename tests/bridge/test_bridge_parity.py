"""Call-sequence parity with Inngest for stock inngest-py apps (tests/bridge/parity_app.py).

Inline apps (INNGEST_TEMPORAL_SDK_INLINE_STEPS) get Inngest's exact sequence of calls: a lone new
step runs inside the discovery call, so the SDK's call counts, logger muting and nested-step checks
behave as on Inngest. Default apps run every step.run as its own activity named after the step,
at the cost of one more call per step.
"""

from __future__ import annotations

import json
import uuid

import pytest
from bridge_support import BridgeStack, SdkApp
from e2e_support import eventually

pytestmark = pytest.mark.temporal

INLINE = ["inline-fastapi", "inline-flask"]


def _calls(bridge: BridgeStack, app: SdkApp, run_id: str) -> int:
    return len([r for r in bridge.records_of(app.app_id, "calls") if r["run_id"] == run_id])


def _ran(bridge: BridgeStack, app: SdkApp, run_id: str) -> list[str]:
    return [r["step"] for r in bridge.records_of(app.app_id, "ran") if r["run_id"] == run_id]


async def _step_names(bridge: BridgeStack, run_id: str) -> list[str]:
    """The step spans the GraphQL API reports for a run (what inngest-py's own tests read)."""
    data = await bridge.gql(
        "query($id: String!) { run(runID: $id) { trace { childrenSpans { name outputID } } } }", id=run_id
    )
    return [span["name"] for span in data["run"]["trace"]["childrenSpans"]]


@pytest.mark.parametrize("which", INLINE)
async def test_bridge_inline_app_gets_one_call_per_step_plus_one(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    run = await bridge.run(app.event("two-steps"), {})
    assert "Completed" == run["status"], run
    assert [1, 2] == run["output"]
    assert 3 == _calls(bridge, app, run["run_id"])  # step one, step two, the return
    assert ["one", "two"] == _ran(bridge, app, run["run_id"])
    # The steps ran inside discovery calls; the step API still names them.
    assert ["__discover"] * 3 == await bridge.activity_types(run["run_id"])
    assert ["one", "two"] == await _step_names(bridge, run["run_id"])


async def test_bridge_default_app_runs_each_step_as_an_activity_named_after_it(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp]
) -> None:
    app = parity_apps["activity-fastapi"]
    run = await bridge.run(app.event("two-steps"), {})
    assert "Completed" == run["status"], run
    assert [1, 2] == run["output"]
    assert ["one", "two"] == await bridge.activity_types(run["run_id"])
    assert ["one", "two"] == _ran(bridge, app, run["run_id"])
    # discovery; each step: a targeted call, then a look-ahead call that finds what comes next.
    assert 5 == _calls(bridge, app, run["run_id"])


async def test_bridge_inline_parallel_group_then_a_step_takes_six_calls(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp]
) -> None:
    app = parity_apps["inline-fastapi"]
    run = await bridge.run(app.event("parallel"), {})
    assert "Completed" == run["status"], run
    assert ["done", 1, 2, 1] == run["output"]
    # the plan of four; 1a, 1b and send targeted (invoke needs no call); "after" inline; the return.
    assert 6 == _calls(bridge, app, run["run_id"])
    assert ["after"] == _ran(bridge, app, run["run_id"])
    types = await bridge.activity_types(run["run_id"])
    assert {"1a", "1b", "send"} <= set(types)


@pytest.mark.parametrize("which", ["inline-fastapi", "activity-fastapi"])
async def test_bridge_race_group_moves_on_after_each_step(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    run = await bridge.run(app.event("race"), {})
    assert "Completed" == run["status"], run
    # The fast branch does not wait for the slow one's first step (2 s).
    assert ["a.1", "a.2", "b.1", "b.2"] == _ran(bridge, app, run["run_id"])
    # the plan; four targeted steps; a discovery after each of them.
    assert 9 == _calls(bridge, app, run["run_id"]), " ".join(str(r["target"])[:4] for r in bridge.records_of(app.app_id, "calls") if r["run_id"] == run["run_id"])


@pytest.mark.parametrize("which", INLINE)
async def test_bridge_inline_logger_is_muted_while_memoized_code_replays(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    run = await bridge.run(app.event("logged"), {})
    assert "Completed" == run["status"], run
    logs = [r["message"] for r in bridge.records_of(app.app_id, "logs")]
    assert [
        "function start",
        "step_1",
        "before function-level raise",
        "before function-level raise",  # the retry of that call
        "step_2",
        "before step-level raise",
        "before step-level raise",  # the retry of the call whose step raised
        "function end",
    ] == logs


async def test_bridge_retry_budget_starts_over_after_each_step(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp]
) -> None:
    # retries=1, and two errors: one before step_2, one in step_3. As on Inngest each stretch of
    # code between steps has its own budget, so the run completes.
    app = parity_apps["activity-fastapi"]
    run = await bridge.run(app.event("logged"), {})
    assert "Completed" == run["status"], run


@pytest.mark.parametrize("which", [*INLINE, "activity-fastapi"])
async def test_bridge_nested_step_fails_the_run_at_once(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    run = await bridge.run(app.event("nested"), {}, timeout=20)
    assert "Failed" == run["status"], run
    assert "Nested steps are not supported." in json.dumps(run["output"]), run
    # Not retried (retries=5). Inline, the outer body ran once; by default its targeted call
    # met the inner step first, and the call that followed (as Inngest's) ran it again.
    expected = ["outer"] if which in INLINE else ["outer", "outer"]
    assert expected == _ran(bridge, app, run["run_id"])


@pytest.mark.parametrize("which", ["inline-fastapi", "activity-fastapi"])
async def test_bridge_steps_may_change_order_between_calls(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    run = await bridge.run(app.event("flip-flop"), {})
    assert "Completed" == run["status"], run
    assert ["one", "two"] == _ran(bridge, app, run["run_id"])  # each ran once
    if which in INLINE:
        assert 3 == _calls(bridge, app, run["run_id"])


@pytest.mark.parametrize("which", ["inline-fastapi", "activity-fastapi"])
async def test_bridge_state_over_the_request_limit_is_fetched_from_the_api(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    # No payload store here: each 1 MiB output fits a Temporal payload, the 5 MiB memo does not
    # fit one query answer (it is read page by page) nor a continue-as-new input (the run goes on).
    app = parity_apps[which]
    run = await bridge.run(app.event("big-state"), {}, timeout=90)
    assert "Completed" == run["status"], run
    assert [1024 * 1024] * 5 == run["output"]
    assert [f"big-{i}" for i in range(5)] == _ran(bridge, app, run["run_id"])  # each ran once


@pytest.mark.parametrize("which", ["inline-fastapi", "activity-fastapi"])
async def test_bridge_cancel_event_during_the_first_call_cancels_the_run(
    bridge: BridgeStack, parity_apps: dict[str, SdkApp], which: str
) -> None:
    app = parity_apps[which]
    key = uuid.uuid4().hex
    event_id = await bridge.send(app.event("slow-cancellable"), {"id": key})
    (run,) = await bridge.runs(event_id)

    async def started() -> bool:
        return any(r.get("id") == key for r in bridge.records_of(app.app_id, "ran"))

    await eventually(started, what="the call to start")
    await bridge.send(app.event("cancel"), {"id": key})
    done = await bridge.finished(run["run_id"], timeout=30)
    assert "Cancelled" == done["status"], done
