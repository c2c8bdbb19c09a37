"""compat's replay engine as a pure function: `engine.execute(fn, request)`, without any server."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from compat import inngest
from compat._internal import engine, step
from compat._internal.function import Function

EVENT = {"name": "app/test", "data": {"key": "k1"}, "id": "evt-1", "ts": 1700000000000}


def h(step_id: str) -> str:
    return hashlib.sha1(step_id.encode()).hexdigest()


def make(handler: Callable[..., Any], *, client: inngest.Inngest | None = None) -> Function[Any]:
    client = client or inngest.Inngest(app_id="app")
    return client.create_function(fn_id=handler.__name__, trigger=inngest.TriggerEvent(event="app/test"))(
        handler
    )


async def run(
    handler: Callable[..., Any] | Function[Any],
    memo: dict[str, Any] | None = None,
    target: str | None = None,
    *,
    final: bool = False,
    attempt: int = 0,
    run_id: str = "run-1",
    events: list[dict[str, Any]] | None = None,
    send_events: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> engine.Outcome:
    fn = handler if isinstance(handler, Function) else make(handler)
    request = engine.Request(
        event=EVENT,
        events=events if events is not None else [EVENT],
        run_id=run_id,
        attempt=attempt,
        memo=memo if memo is not None else {},
        target=target,
        final_attempt=final,
        send_events=send_events,
    )
    return await engine.execute(fn, request)


def planned(outcome: engine.Outcome) -> list[tuple[str, str, str]]:
    """(kind, id, hashed) of every reported step."""
    return [(p.kind, p.id, p.hashed) for p in outcome.planned]


class Calls:
    """Records which step bodies ran."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def body(self, name: str, value: Any) -> Callable[[], Any]:
        def fn() -> Any:
            self.names.append(name)
            return value

        return fn


# --- ids -------------------------------------------------------------------------------------------


def test_engine_hash_step_id_known_sha1_values() -> None:
    assert "e7d8a2f140845095749d60246ff1110c9d01d76a" == step.hash_step_id("my-step-id")
    assert "f47c6228c581af870aa285200cf95ec3ac59bb6a" == step.hash_step_id("my-step-id:1")
    assert "5fdb32cd3e6e3d62fa480ac2ad526b79c2682845" == step.hash_step_id("my-step-id:2")


async def test_engine_first_step_reported_with_sha1_id() -> None:
    async def one(ctx: inngest.Context) -> None:
        await ctx.step.run("my-step-id", lambda: 1)

    outcome = await run(one)
    assert "planned" == outcome.status
    assert [("run", "my-step-id", "e7d8a2f140845095749d60246ff1110c9d01d76a")] == planned(outcome)
    assert "my-step-id" == outcome.planned[0].name
    assert {} == outcome.planned[0].opts
    assert outcome.planned[0].parallel_mode is None
    assert outcome.target_ran is False
    assert outcome.target_output is None


async def test_engine_repeated_step_ids_are_suffixed() -> None:
    calls = Calls()

    async def repeats(ctx: inngest.Context) -> list[int]:
        return [await ctx.step.run("my-step-id", calls.body(f"run-{i}", i)) for i in range(3)]

    memo = {
        "e7d8a2f140845095749d60246ff1110c9d01d76a": {"data": 0},
        "f47c6228c581af870aa285200cf95ec3ac59bb6a": {"data": 1},
    }
    outcome = await run(repeats, memo)
    assert [("run", "my-step-id:2", "5fdb32cd3e6e3d62fa480ac2ad526b79c2682845")] == planned(outcome)
    assert "my-step-id" == outcome.planned[0].name
    assert [] == calls.names

    memo["5fdb32cd3e6e3d62fa480ac2ad526b79c2682845"] = {"data": 2}
    assert ("done", [0, 1, 2]) == ((o := await run(repeats, memo)).status, o.value)


async def test_engine_step_id_counter_is_shared_across_step_kinds() -> None:
    async def mixed(ctx: inngest.Context) -> None:
        await ctx.step.sleep("x", 1000)
        await ctx.step.run("x", lambda: 1)

    outcome = await run(mixed, {h("x"): None})
    assert [("run", "x:1", h("x:1"))] == planned(outcome)


@pytest.mark.parametrize("bad", ["", None, 3])
async def test_engine_invalid_step_id_is_an_error_naming_it(bad: Any) -> None:
    async def bad_id(ctx: inngest.Context) -> None:
        await ctx.step.run(bad, lambda: 1)

    outcome = await run(bad_id)
    assert "error" == outcome.status
    assert "StepIdError" == outcome.error["name"]
    assert repr(bad) in outcome.error["message"]


# --- replay and lookahead ----------------------------------------------------------------------------


async def test_engine_replay_returns_memoized_outputs_without_running_steps() -> None:
    calls = Calls()

    async def two(ctx: inngest.Context) -> int:
        a = await ctx.step.run("a", calls.body("a", 100))
        b = await ctx.step.run("b", calls.body("b", 200))
        return a + b

    outcome = await run(two, {h("a"): {"data": 1}, h("b"): {"data": 2}})
    assert ("done", 3) == (outcome.status, outcome.value)
    assert [] == calls.names
    assert outcome.target_ran is False


async def test_engine_lookahead_runs_target_and_reports_next_step() -> None:
    calls = Calls()

    async def three(ctx: inngest.Context) -> int:
        a = await ctx.step.run("a", calls.body("a", 1))
        b = await ctx.step.run("b", calls.body("b", a + 1))
        return await ctx.step.run("c", calls.body("c", b + 1))

    outcome = await run(three, {h("a"): {"data": 1}}, target=h("b"))
    assert "planned" == outcome.status
    assert ["b"] == calls.names
    assert [("run", "c", h("c"))] == planned(outcome)
    assert {"data": 2} == outcome.target_output
    assert outcome.target_ran is True


async def test_engine_lookahead_to_the_end_returns_the_value() -> None:
    async def last(ctx: inngest.Context) -> dict[str, int]:
        a = await ctx.step.run("a", lambda: 1)
        return {"total": await ctx.step.run("b", lambda: a + 41)}

    outcome = await run(last, {h("a"): {"data": 1}}, target=h("b"))
    assert ("done", {"total": 42}) == (outcome.status, outcome.value)
    assert {"data": 42} == outcome.target_output


async def test_engine_target_not_reached_reports_earlier_new_step() -> None:
    calls = Calls()

    async def two(ctx: inngest.Context) -> None:
        await ctx.step.run("a", calls.body("a", 1))
        await ctx.step.run("b", calls.body("b", 2))

    outcome = await run(two, {}, target=h("b"))
    assert [("run", "a", h("a"))] == planned(outcome)
    assert [] == calls.names
    assert outcome.target_ran is False


async def test_engine_handler_error_after_target_is_an_outcome() -> None:
    calls = Calls()

    async def fails_after(ctx: inngest.Context) -> None:
        await ctx.step.run("a", calls.body("a", 1))
        raise ValueError("after the step")

    outcome = await run(fails_after, target=h("a"))
    assert "error" == outcome.status
    assert ("ValueError", "after the step") == (outcome.error["name"], outcome.error["message"])
    assert "ValueError: after the step" in outcome.error["stack"]
    assert outcome.retriable is True
    assert {"data": 1} == outcome.target_output  # the step's output is kept: it must not run again
    assert ["a"] == calls.names


async def test_engine_memo_of_the_request_is_not_mutated() -> None:
    async def one(ctx: inngest.Context) -> int:
        return await ctx.step.run("a", lambda: 1)

    memo: dict[str, Any] = {}
    outcome = await run(one, memo, target=h("a"))
    assert {} == memo
    assert ("done", 1) == (outcome.status, outcome.value)


async def test_engine_outcome_to_dict_is_json() -> None:
    async def two(ctx: inngest.Context) -> None:
        await ctx.step.run("a", lambda: (1, 2))
        await ctx.step.sleep("b", 1000)

    d = (await run(two, target=h("a"))).to_dict()
    assert d == json.loads(json.dumps(d))
    assert "planned" == d["status"]
    assert {"data": [1, 2]} == d["target_output"]
    assert [
        {"kind": "sleep", "id": "b", "hashed": h("b"), "name": "b", "opts": {"seconds": 1.0}, "parallel_mode": None}
    ] == d["planned"]


# --- step failures -------------------------------------------------------------------------------------


def _boom() -> None:
    raise ValueError("boom")


async def test_engine_target_failure_not_final_is_step_failed_and_not_memoized() -> None:
    reached_after = []

    async def fails(ctx: inngest.Context) -> None:
        await ctx.step.run("a", _boom)
        reached_after.append(True)

    outcome = await run(fails, target=h("a"), final=False)
    assert "step_failed" == outcome.status
    assert ("ValueError", "boom") == (outcome.error["name"], outcome.error["message"])
    assert outcome.retriable is True
    assert outcome.retry_after_seconds is None
    assert outcome.target_output is None
    assert outcome.target_ran is True
    assert [] == reached_after


async def test_engine_target_failure_cannot_be_caught_before_the_final_attempt() -> None:
    async def catches(ctx: inngest.Context) -> str:
        try:
            await ctx.step.run("a", _boom)
        except Exception:
            return "caught"
        return "no error"

    assert "step_failed" == (await run(catches, target=h("a"))).status


@pytest.mark.parametrize("unwind", ["step", "return", "raise", "except-base"])
async def test_engine_target_failure_is_not_hidden_by_the_handler_unwinding(unwind: str) -> None:
    async def cleans_up(ctx: inngest.Context) -> Any:
        try:
            await ctx.step.run("a", _boom)
        except BaseException:
            if unwind == "except-base":
                return "swallowed"
            raise
        finally:
            if unwind == "step":
                await ctx.step.run("cleanup", lambda: 1)
            elif unwind == "return":
                return "finally returned"  # noqa: B012 (what is tested)
            elif unwind == "raise":
                raise RuntimeError("cleanup failed")
        return "after"

    outcome = await run(cleans_up, target=h("a"))
    assert ("step_failed", "ValueError", "boom") == (
        outcome.status,
        outcome.error["name"],
        outcome.error["message"],
    )
    assert ([], None, True) == (outcome.planned, outcome.target_output, outcome.target_ran)


async def test_engine_sync_target_failure_is_not_hidden_by_finally() -> None:
    def cleans_up(ctx: inngest.ContextSync) -> None:
        try:
            ctx.step.run("a", _boom)
        finally:
            ctx.step.run("cleanup", lambda: 1)

    outcome = await run(cleans_up, target=h("a"))
    assert ("step_failed", "boom") == (outcome.status, outcome.error["message"])


async def test_engine_final_attempt_failure_then_finally_step_reports_it() -> None:
    async def cleans_up(ctx: inngest.Context) -> None:
        try:
            await ctx.step.run("a", _boom)
        finally:
            await ctx.step.run("cleanup", lambda: 1)

    outcome = await run(cleans_up, target=h("a"), final=True)
    assert [("run", "cleanup", h("cleanup"))] == planned(outcome)
    assert "boom" == outcome.target_output["error"]["message"]


async def test_engine_final_attempt_memoizes_error_and_raises_step_error() -> None:
    async def catches(ctx: inngest.Context) -> dict[str, Any]:
        try:
            await ctx.step.run("a", _boom)
        except inngest.StepError as err:
            return {"name": err.name, "message": err.message, "str": str(err)}
        return {}

    outcome = await run(catches, target=h("a"), final=True)
    assert ("done", {"name": "ValueError", "message": "boom", "str": "boom"}) == (
        outcome.status,
        outcome.value,
    )
    assert {"name", "message", "stack"} == set(outcome.target_output["error"])
    assert ("ValueError", "boom") == (
        outcome.target_output["error"]["name"],
        outcome.target_output["error"]["message"],
    )
    assert "ValueError: boom" in outcome.target_output["error"]["stack"]


async def test_engine_final_attempt_uncaught_step_error_fails_without_retry() -> None:
    async def uncaught(ctx: inngest.Context) -> None:
        await ctx.step.run("a", _boom)

    outcome = await run(uncaught, target=h("a"), final=True)
    assert "error" == outcome.status
    assert outcome.retriable is False
    assert ("ValueError", "boom") == (outcome.error["name"], outcome.error["message"])
    assert "error" in outcome.target_output


async def test_engine_memoized_step_error_raises_step_error_on_replay() -> None:
    async def catches(ctx: inngest.Context) -> list[str]:
        try:
            await ctx.step.run("a", _boom)
        except inngest.StepError as err:
            return [err.name, err.message, err.stack or ""]
        return []

    memo = {h("a"): {"error": {"name": "ValueError", "message": "boom", "stack": "trace"}}}
    outcome = await run(catches, memo)
    assert ("done", ["ValueError", "boom", "trace"]) == (outcome.status, outcome.value)


@pytest.mark.parametrize("final", [False, True])
async def test_engine_non_retriable_error_in_step_is_step_failed_not_retriable(final: bool) -> None:
    def refuse() -> None:
        raise inngest.NonRetriableError("bad input")

    async def fails(ctx: inngest.Context) -> None:
        await ctx.step.run("a", refuse)

    outcome = await run(fails, target=h("a"), final=final)
    assert "step_failed" == outcome.status
    assert outcome.retriable is False
    assert ("NonRetriableError", "bad input") == (outcome.error["name"], outcome.error["message"])
    assert outcome.target_output is None


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        (5000, 3.0, 5.0),
        (datetime.timedelta(minutes=10), 598.0, 600.0),
        (0, 1.0, 1.0),
        (datetime.timedelta(days=3), 86400.0, 86400.0),
        (datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc), 1.0, 1.0),
    ],
)
async def test_engine_retry_after_error_in_step_sets_delay_within_bounds(
    retry_after: Any, low: float, high: float
) -> None:
    def later() -> None:
        raise inngest.RetryAfterError("not yet", retry_after)

    async def fails(ctx: inngest.Context) -> None:
        await ctx.step.run("a", later)

    outcome = await run(fails, target=h("a"))
    assert "step_failed" == outcome.status
    assert outcome.retriable is True
    assert outcome.retry_after_seconds is not None
    assert low <= outcome.retry_after_seconds <= high
    assert 1.0 <= outcome.retry_after_seconds <= 86400.0


async def test_engine_retry_after_error_in_handler_sets_delay() -> None:
    async def later(ctx: inngest.Context) -> None:
        raise inngest.RetryAfterError("not yet", datetime.timedelta(seconds=30))

    outcome = await run(later)
    assert "error" == outcome.status
    assert outcome.retriable is True
    assert 28.0 <= outcome.retry_after_seconds <= 30.0


async def test_engine_non_retriable_error_in_handler_is_not_retriable() -> None:
    async def refuse(ctx: inngest.Context) -> None:
        raise inngest.NonRetriableError("never")

    outcome = await run(refuse)
    assert ("error", False, "never") == (outcome.status, outcome.retriable, outcome.error["message"])


# --- parallel groups -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reported"), [(None, "wait"), (inngest.ParallelMode.WAIT, "wait"), (inngest.ParallelMode.RACE, "race")]
)
async def test_engine_parallel_reports_every_branch_head(mode: Any, reported: str) -> None:
    calls = Calls()

    async def fan_out(ctx: inngest.Context) -> tuple[Any, ...]:
        async def second() -> Any:
            x = await ctx.step.run("b1", calls.body("b1", 1))
            return await ctx.step.run("b2", calls.body("b2", x))

        branches = (lambda: ctx.step.run("a", calls.body("a", 0)), second, lambda: ctx.step.sleep("c", 10))
        if mode is None:
            return await ctx.group.parallel(branches)
        return await ctx.group.parallel(branches, mode)

    outcome = await run(fan_out)
    assert [("run", "a", h("a")), ("run", "b1", h("b1")), ("sleep", "c", h("c"))] == planned(outcome)
    assert [reported] * 3 == [p.parallel_mode for p in outcome.planned]
    assert [] == calls.names


async def test_engine_parallel_target_runs_and_other_heads_are_reported() -> None:
    calls = Calls()

    async def fan_out(ctx: inngest.Context) -> tuple[Any, ...]:
        return await ctx.group.parallel(
            (lambda: ctx.step.run("a", calls.body("a", 1)), lambda: ctx.step.run("b", calls.body("b", 2)))
        )

    outcome = await run(fan_out, target=h("b"))
    assert ["b"] == calls.names
    assert [("run", "a", h("a"))] == planned(outcome)
    assert {"data": 2} == outcome.target_output

    done = await run(fan_out, {h("a"): {"data": 1}, h("b"): {"data": 2}})
    assert ("done", [1, 2]) == (done.status, done.value)  # the tuple, as JSON


async def test_engine_steps_after_a_parallel_group_are_not_marked_parallel() -> None:
    async def then(ctx: inngest.Context) -> None:
        await ctx.group.parallel((lambda: ctx.step.run("a", lambda: 1),))
        await ctx.step.run("after", lambda: 2)

    outcome = await run(then, {h("a"): {"data": 1}})
    assert [("run", "after", h("after"))] == planned(outcome)
    assert outcome.planned[0].parallel_mode is None


async def test_engine_parallel_target_failure_is_step_failed() -> None:
    async def fan_out(ctx: inngest.Context) -> tuple[Any, ...]:
        return await ctx.group.parallel((lambda: ctx.step.run("a", lambda: 1), lambda: ctx.step.run("b", _boom)))

    outcome = await run(fan_out, target=h("b"))
    assert ("step_failed", "boom") == (outcome.status, outcome.error["message"])


# --- sleeps, waits, invokes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [(1500, 1.5), (0, 0.0), (datetime.timedelta(minutes=2), 120.0), (datetime.timedelta(milliseconds=250), 0.25)],
)
async def test_engine_sleep_reported_with_seconds(duration: Any, seconds: float) -> None:
    async def naps(ctx: inngest.Context) -> None:
        await ctx.step.sleep("nap", duration)

    outcome = await run(naps)
    assert [("sleep", "nap", "c2640f79b4ed481b838ce4ad75330aa3f825d4d9")] == planned(outcome)
    assert {"seconds": seconds} == outcome.planned[0].opts


@pytest.mark.parametrize("bad", ["10s", None, True])
async def test_engine_sleep_refuses_other_durations(bad: Any) -> None:
    async def naps(ctx: inngest.Context) -> None:
        await ctx.step.sleep("nap", bad)

    outcome = await run(naps)
    assert ("error", "TypeError") == (outcome.status, outcome.error["name"])
    assert repr(bad) in outcome.error["message"]


async def test_engine_sleep_until_reported_in_utc() -> None:
    until = datetime.datetime(2030, 5, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))

    async def naps(ctx: inngest.Context) -> None:
        await ctx.step.sleep_until("nap", until)

    outcome = await run(naps)
    assert [("sleep", "nap", h("nap"))] == planned(outcome)
    assert {"until": "2030-05-01T10:00:00+00:00"} == outcome.planned[0].opts


async def test_engine_memoized_sleep_returns_none_and_continues() -> None:
    async def naps(ctx: inngest.Context) -> list[Any]:
        return [await ctx.step.sleep("nap", 1000), await ctx.step.sleep_until("nap", datetime.datetime.now())]

    outcome = await run(naps, {h("nap"): None, h("nap:1"): None})
    assert ("done", [None, None]) == (outcome.status, outcome.value)


@pytest.mark.parametrize(
    ("timeout", "seconds"), [(60000, 60.0), (datetime.timedelta(hours=1), 3600.0)]
)
async def test_engine_wait_for_event_reported_with_opts(timeout: Any, seconds: float) -> None:
    async def waits(ctx: inngest.Context) -> None:
        await ctx.step.wait_for_event(
            "wait", event="app/approved", if_exp="async.data.id == event.data.id", timeout=timeout
        )

    outcome = await run(waits)
    assert [("wait_for_event", "wait", "daaad336276d15594d0e765f96c17cd746bf4971")] == planned(outcome)
    assert {
        "event": "app/approved",
        "if_exp": "async.data.id == event.data.id",
        "timeout_seconds": seconds,
    } == outcome.planned[0].opts


async def test_engine_wait_for_event_refuses_empty_event_name() -> None:
    async def waits(ctx: inngest.Context) -> None:
        await ctx.step.wait_for_event("wait", event="", timeout=1000)

    outcome = await run(waits)
    assert ("error", "ValueError") == (outcome.status, outcome.error["name"])


@pytest.mark.parametrize(
    "memoized",
    [
        {"name": "app/approved", "data": {"by": "ann"}, "id": "e2", "ts": 5},
        {"data": {"name": "app/approved", "data": {"by": "ann"}, "id": "e2", "ts": 5}},
    ],
)
async def test_engine_memoized_wait_returns_an_event(memoized: dict[str, Any]) -> None:
    async def waits(ctx: inngest.Context) -> list[Any]:
        got = await ctx.step.wait_for_event("wait", event="app/approved", timeout=1000)
        assert isinstance(got, inngest.Event)
        return [got.name, dict(got.data), got.id, got.ts]

    outcome = await run(waits, {h("wait"): memoized})
    assert ("done", ["app/approved", {"by": "ann"}, "e2", 5]) == (outcome.status, outcome.value)


@pytest.mark.parametrize("memoized", [None, {"data": None}])
async def test_engine_memoized_wait_timeout_returns_none(memoized: Any) -> None:
    async def waits(ctx: inngest.Context) -> str:
        got = await ctx.step.wait_for_event("wait", event="app/approved", timeout=1000)
        return "timed out" if got is None else "got it"

    outcome = await run(waits, {h("wait"): memoized})
    assert ("done", "timed out") == (outcome.status, outcome.value)


async def test_engine_invoke_reported_with_opts() -> None:
    client = inngest.Inngest(app_id="app")

    @client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="app/child"))
    async def child(ctx: inngest.Context) -> None:
        return None

    async def parent(ctx: inngest.Context) -> None:
        await ctx.step.invoke(
            "call", function=child, data={"b": (1, 2), "a": 1}, timeout=datetime.timedelta(minutes=5), v="2"
        )

    outcome = await run(make(parent, client=client))
    assert [("invoke", "call", h("call"))] == planned(outcome)
    assert {
        "function_id": "app-child",
        "data": {"a": 1, "b": [1, 2]},
        "timeout_seconds": 300.0,
        "v": "2",
    } == outcome.planned[0].opts


@pytest.mark.parametrize(
    ("kwargs", "opts"),
    [
        (
            {"function_id": "child"},
            {"function_id": "app-child", "data": {}, "timeout_seconds": None, "v": None},
        ),
        (
            {"app_id": "other", "function_id": "child", "data": {"x": 1}, "timeout": 2500},
            {"function_id": "other-child", "data": {"x": 1}, "timeout_seconds": 2.5, "v": None},
        ),
    ],
)
async def test_engine_invoke_by_id_reported_with_opts(kwargs: dict[str, Any], opts: dict[str, Any]) -> None:
    async def parent(ctx: inngest.Context) -> None:
        await ctx.step.invoke_by_id("call", **kwargs)

    outcome = await run(parent)
    assert [("invoke", "call", h("call"))] == planned(outcome)
    assert opts == outcome.planned[0].opts


async def test_engine_invoke_data_must_be_json() -> None:
    async def parent(ctx: inngest.Context) -> None:
        await ctx.step.invoke_by_id("call", function_id="child", data={"when": datetime.date(2020, 1, 1)})

    outcome = await run(parent)
    assert ("error", False) == (outcome.status, outcome.retriable)
    assert "invoke data is not JSON serializable: dict" in outcome.error["message"]


async def test_engine_memoized_invoke_returns_the_data() -> None:
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id("call", function_id="child")

    outcome = await run(parent, {h("call"): {"data": {"ok": True}}})
    assert ("done", {"ok": True}) == (outcome.status, outcome.value)


async def test_engine_memoized_invoke_error_raises_step_error() -> None:
    async def parent(ctx: inngest.Context) -> Any:
        try:
            await ctx.step.invoke_by_id("call", function_id="child")
        except inngest.StepError as err:
            return {"name": err.name, "message": err.message}
        return None

    memo = {h("call"): {"error": {"name": "InngestInvokeTimeoutError", "message": "timed out", "stack": ""}}}
    outcome = await run(parent, memo)
    assert ("done", {"name": "InngestInvokeTimeoutError", "message": "timed out"}) == (
        outcome.status,
        outcome.value,
    )

    async def uncaught(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id("call", function_id="child")

    failed = await run(uncaught, memo)
    assert ("error", False, "timed out") == (failed.status, failed.retriable, failed.error["message"])


# --- send_event ---------------------------------------------------------------------------------------


class Sender:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    async def __call__(self, batch: list[dict[str, Any]]) -> list[str]:
        self.batches.append(batch)
        return [f"id-{i}" for i in range(len(batch))]


async def test_engine_send_event_is_a_step_that_sends_when_targeted() -> None:
    sender = Sender()

    async def sends(ctx: inngest.Context) -> list[str]:
        return await ctx.step.send_event(
            "send", [inngest.Event(name="app/a", data={"n": 1}), inngest.Event(name="app/b")]
        )

    discovered = await run(sends, send_events=sender)
    assert [("run", "send", h("send"))] == planned(discovered)
    assert [] == sender.batches

    outcome = await run(sends, target=h("send"), send_events=sender)
    assert ("done", ["id-0", "id-1"]) == (outcome.status, outcome.value)
    assert [[{"name": "app/a", "data": {"n": 1}}, {"name": "app/b", "data": {}}]] == sender.batches

    replayed = await run(sends, {h("send"): {"data": ["x"]}}, send_events=sender)
    assert ("done", ["x"]) == (replayed.status, replayed.value)
    assert 1 == len(sender.batches)


async def test_engine_send_event_without_sender_fails_the_step() -> None:
    async def sends(ctx: inngest.Context) -> list[str]:
        return await ctx.step.send_event("send", inngest.Event(name="app/a"))

    outcome = await run(sends, target=h("send"))
    assert "step_failed" == outcome.status
    assert "no event sender" in outcome.error["message"]


async def test_engine_sync_handler_send_event() -> None:
    sender = Sender()

    def sends(ctx: inngest.ContextSync) -> list[str]:
        return ctx.step.send_event("send", inngest.Event(name="app/a"))

    outcome = await run(sends, target=h("send"), send_events=sender)
    assert ("done", ["id-0"]) == (outcome.status, outcome.value)
    assert [[{"name": "app/a", "data": {}}]] == sender.batches


# --- JSON normalization ---------------------------------------------------------------------------


async def test_engine_step_output_is_normalized_through_json_during_lookahead() -> None:
    seen: list[Any] = []

    async def shapes(ctx: inngest.Context) -> None:
        out = await ctx.step.run("a", lambda: {"b": (1, 2), "a": {"z": 1, "y": (3,)}})
        seen.append(out)
        seen.append(list(out))
        await ctx.step.run("next", lambda: None)

    outcome = await run(shapes, target=h("a"))
    assert [{"a": {"y": [3], "z": 1}, "b": [1, 2]}, ["a", "b"]] == seen
    assert ["a", "b"] == list(outcome.target_output["data"])
    assert {"data": {"a": {"y": [3], "z": 1}, "b": [1, 2]}} == outcome.target_output


async def test_engine_function_output_is_normalized() -> None:
    async def shapes(ctx: inngest.Context) -> Any:
        return {"t": (1, "x"), "a": None}

    outcome = await run(shapes)
    assert ("done", {"a": None, "t": [1, "x"]}) == (outcome.status, outcome.value)
    assert ["a", "t"] == list(outcome.value)


async def test_engine_non_json_step_output_fails_non_retriably_naming_the_type() -> None:
    async def dates(ctx: inngest.Context) -> None:
        await ctx.step.run("a", lambda: datetime.datetime(2020, 1, 1))

    outcome = await run(dates, target=h("a"))
    assert ("step_failed", False) == (outcome.status, outcome.retriable)
    assert "output of step 'a' is not JSON serializable: datetime" in outcome.error["message"]
    assert outcome.target_output is None


async def test_engine_step_output_over_4_mib_fails_non_retriably_naming_step_size_and_limit() -> None:
    async def big(ctx: inngest.Context) -> None:
        await ctx.step.run("load", lambda: "x" * (4 * 1024 * 1024 + 10))

    outcome = await run(big, target=h("load"))
    assert ("step_failed", False) == (outcome.status, outcome.retriable)
    message = outcome.error["message"]
    assert "output of step 'load' is 4194316 bytes" in message
    assert "limit of 4194304 bytes" in message


async def test_engine_non_json_function_output_fails_non_retriably_naming_the_type() -> None:
    async def returns_set(ctx: inngest.Context) -> Any:
        return {1, 2}

    outcome = await run(returns_set)
    assert ("error", False) == (outcome.status, outcome.retriable)
    assert "function output is not JSON serializable: set" in outcome.error["message"]


# --- interrupts and nesting -----------------------------------------------------------------------


async def test_engine_nested_steps_are_refused() -> None:
    async def nests(ctx: inngest.Context) -> None:
        async def outer() -> int:
            return await ctx.step.run("inner", lambda: 1)

        await ctx.step.run("outer", outer)

    outcome = await run(nests, target=h("outer"))
    assert ("step_failed", False) == (outcome.status, outcome.retriable)
    assert "'inner'" in outcome.error["message"]
    assert "nested" in outcome.error["message"]


async def test_engine_nested_step_from_a_sync_body_is_refused() -> None:
    async def nests(ctx: inngest.Context) -> None:
        await ctx.step.run("outer", lambda: ctx.step.run("inner", lambda: 1))

    outcome = await run(nests, target=h("outer"))
    assert ("step_failed", False) == (outcome.status, outcome.retriable)
    assert "nested" in outcome.error["message"]


async def test_engine_step_interrupt_is_not_swallowed_by_except_exception() -> None:
    async def swallows(ctx: inngest.Context) -> str:
        try:
            await ctx.step.run("a", lambda: 1)
            await ctx.step.sleep("b", 1000)
        except Exception:
            return "swallowed"
        return "finished"

    assert [("run", "a", h("a"))] == planned(await run(swallows))
    assert [("sleep", "b", h("b"))] == planned(await run(swallows, {h("a"): {"data": 1}}))
    assert issubclass(step.StepInterrupt, BaseException)
    assert not issubclass(step.StepInterrupt, Exception)


async def test_engine_stop_interrupt_is_not_swallowed_by_except_exception() -> None:
    async def swallows(ctx: inngest.Context) -> str:
        try:
            await ctx.step.run("a", _boom)
        except Exception:
            return "swallowed"
        return "finished"

    assert "step_failed" == (await run(swallows, target=h("a"))).status


# --- sync handlers and 0.4-style handlers ----------------------------------------------------------


async def test_engine_sync_handler_gets_context_sync() -> None:
    calls = Calls()
    kinds: list[Any] = []

    def sync_fn(ctx: inngest.ContextSync) -> int:
        kinds.append((type(ctx), type(ctx.step), type(ctx.group)))
        a = ctx.step.run("a", calls.body("a", 1))
        b = ctx.step.run("b", calls.body("b", a + 1))
        ctx.step.sleep("nap", 1000)
        return b

    outcome = await run(sync_fn, {h("a"): {"data": 1}}, target=h("b"))
    assert [(inngest.ContextSync, inngest.StepSync, inngest.GroupSync)] == kinds
    assert ["b"] == calls.names
    assert [("sleep", "nap", h("nap"))] == planned(outcome)
    assert {"data": 2} == outcome.target_output

    done = await run(sync_fn, {h("a"): {"data": 1}, h("b"): {"data": 2}, h("nap"): None})
    assert ("done", 2) == (done.status, done.value)


async def test_engine_sync_handler_failures_and_interrupts() -> None:
    def sync_fn(ctx: inngest.ContextSync) -> str:
        try:
            ctx.step.run("a", _boom)
        except Exception:
            return "swallowed"
        return "finished"

    assert [("run", "a", h("a"))] == planned(await run(sync_fn))
    assert "step_failed" == (await run(sync_fn, target=h("a"))).status
    final = await run(sync_fn, target=h("a"), final=True)
    assert ("done", "swallowed") == (final.status, final.value)  # the StepError is an Exception


async def test_engine_sync_handler_parallel_and_waits() -> None:
    def sync_fn(ctx: inngest.ContextSync) -> Any:
        got = ctx.step.wait_for_event("wait", event="app/x", timeout=1000)
        pair = ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: 1), lambda: ctx.step.run("b", lambda: 2)),
            inngest.ParallelMode.RACE,
        )
        return [None if got is None else got.name, list(pair)]

    outcome = await run(sync_fn, {h("wait"): {"name": "app/x", "data": {}}})
    assert [("run", "a", h("a")), ("run", "b", h("b"))] == planned(outcome)
    assert ["race", "race"] == [p.parallel_mode for p in outcome.planned]

    done = await run(sync_fn, {h("wait"): None, h("a"): {"data": 1}, h("b"): {"data": 2}})
    assert ("done", [None, [1, 2]]) == (done.status, done.value)


async def test_engine_sync_handler_error_is_an_outcome() -> None:
    def sync_fn(ctx: inngest.ContextSync) -> None:
        raise KeyError("missing")

    outcome = await run(sync_fn)
    assert ("error", "KeyError", True) == (outcome.status, outcome.error["name"], outcome.retriable)


async def test_engine_async_handler_with_step_argument() -> None:
    async def old_style(ctx: inngest.Context, step_: inngest.Step) -> list[Any]:
        assert step_ is ctx.step
        return [await step_.run("a", lambda: 1), ctx.event.name]

    outcome = await run(old_style, {h("a"): {"data": 1}})
    assert ("done", [1, "app/test"]) == (outcome.status, outcome.value)


async def test_engine_sync_handler_with_step_argument() -> None:
    def old_style(ctx: inngest.ContextSync, step_: inngest.StepSync) -> list[Any]:
        assert step_ is ctx.step
        return [step_.run("a", lambda: 1), isinstance(step_, inngest.StepSync)]

    outcome = await run(old_style, target=h("a"))
    assert ("done", [1, True]) == (outcome.status, outcome.value)


async def test_engine_step_run_passes_handler_args() -> None:
    async def add(x: int, y: int) -> int:
        return x + y

    async def with_args(ctx: inngest.Context) -> list[int]:
        return [await ctx.step.run("a", add, 1, 2), await ctx.step.run("b", lambda x: x * 10, 4)]

    assert ("done", [3, 40]) == ((o := await run(with_args, {h("a"): {"data": 3}}, target=h("b"))).status, o.value)
    assert {"data": 3} == (await run(with_args, target=h("a"))).target_output


# --- context ---------------------------------------------------------------------------------------


async def test_engine_context_carries_attempt_run_id_and_events() -> None:
    async def info(ctx: inngest.Context) -> dict[str, Any]:
        return {
            "attempt": ctx.attempt,
            "run_id": ctx.run_id,
            "event": [ctx.event.name, dict(ctx.event.data), ctx.event.id, ctx.event.ts],
            "events": [e.name for e in ctx.events],
            "job_id": ctx.job_id,
            "request_id": ctx.request_id,
            "types": [type(ctx).__name__, type(ctx.event).__name__],
        }

    second = {"name": "app/test", "data": None}
    outcome = await run(info, attempt=3, run_id="01RUN", events=[EVENT, second])
    assert {
        "attempt": 3,
        "run_id": "01RUN",
        "event": ["app/test", {"key": "k1"}, "evt-1", 1700000000000],
        "events": ["app/test", "app/test"],
        "job_id": None,
        "request_id": None,
        "types": ["Context", "Event"],
    } == outcome.value


async def test_engine_events_default_to_the_event() -> None:
    def info(ctx: inngest.ContextSync) -> list[Any]:
        return [ctx.attempt, ctx.run_id, [e.id for e in ctx.events]]

    outcome = await run(info, attempt=1, run_id="r9", events=[])
    assert [1, "r9", ["evt-1"]] == outcome.value


# --- ctx.logger ------------------------------------------------------------------------------------


def _logs_handler() -> Callable[..., Any]:
    async def logs(ctx: inngest.Context) -> None:
        ctx.logger.info("start")
        await ctx.step.run("a", lambda: 1)
        ctx.logger.info("after a")
        await ctx.step.run("b", lambda: ctx.logger.info("inside b"))
        ctx.logger.warning("after b")
        await ctx.step.sleep("c", 1000)

    return logs


async def test_engine_logger_quiet_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inngest")
    outcome = await run(_logs_handler(), {h("a"): {"data": 1}}, target=h("b"), run_id="run-log")
    assert "planned" == outcome.status
    records = [r for r in caplog.records if r.name == "inngest"]
    # "after a" ran when step a's call looked ahead and found b: this call replays it
    assert ["inside b", "after b"] == [r.getMessage() for r in records]
    assert [logging.INFO, logging.WARNING] == [r.levelno for r in records]
    assert {("app-logs", "run-log")} == {(r.fn_id, r.run_id) for r in records}  # type: ignore[attr-defined]


async def test_engine_logger_quiet_before_the_first_step_when_it_is_the_target(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Discovery logged "start" already; the call that runs step a replays it (it was logged
    twice per run)."""
    caplog.set_level(logging.INFO, logger="inngest")
    await run(_logs_handler(), target=h("a"))
    assert ["after a"] == [r.getMessage() for r in caplog.records if r.name == "inngest"]


async def test_engine_logger_logs_on_first_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inngest")
    await run(_logs_handler())
    assert ["start"] == [r.getMessage() for r in caplog.records if r.name == "inngest"]


async def test_engine_logger_silent_for_fully_memoized_replay(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inngest")

    async def logs(ctx: inngest.Context) -> None:
        ctx.logger.info("before")
        await ctx.step.run("a", lambda: 1)
        await ctx.step.run("b", lambda: 2)

    await run(logs, {h("a"): {"data": 1}, h("b"): {"data": 2}})
    assert [] == [r.getMessage() for r in caplog.records if r.name == "inngest"]


async def test_engine_logger_sync_handler(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inngest")

    def logs(ctx: inngest.ContextSync) -> None:
        ctx.logger.info("replaying")
        ctx.step.run("a", lambda: 1)
        ctx.logger.info("live")

    await run(logs, {h("a"): {"data": 1}})
    assert ["live"] == [r.getMessage() for r in caplog.records if r.name == "inngest"]


async def test_engine_logger_keeps_extra_and_caller(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inngest")

    async def logs(ctx: inngest.Context) -> None:
        ctx.logger.info("order %s", 7, extra={"order_id": 7})
        ctx.logger.log(logging.WARNING, "direct")
        try:
            raise KeyError("k")
        except KeyError:
            ctx.logger.exception("failed")

    await run(logs, run_id="run-x")
    records = [r for r in caplog.records if r.name == "inngest"]
    assert ["order 7", "direct", "failed"] == [r.getMessage() for r in records]
    assert 7 == records[0].order_id  # type: ignore[attr-defined]
    assert {("app-logs", "run-x")} == {(r.fn_id, r.run_id) for r in records}  # type: ignore[attr-defined]
    assert {__file__} == {r.pathname for r in records}
    assert {"logs"} == {r.funcName for r in records}
    assert records[2].exc_info is not None


async def test_engine_logger_wraps_the_client_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tests.compat.client")
    client = inngest.Inngest(app_id="app", logger=logging.getLogger("tests.compat.client"))

    async def logs(ctx: inngest.Context) -> None:
        ctx.logger.info("hello")

    fn = make(logs, client=client)
    await run(fn)
    assert ["hello"] == [r.getMessage() for r in caplog.records if r.name == "tests.compat.client"]

    client.set_logger(logging.getLogger("tests.compat.client.other"))
    await run(fn)
    assert ["tests.compat.client", "tests.compat.client.other"] == [
        r.name for r in caplog.records if r.name.startswith("tests.compat.client")
    ]


async def test_engine_step_output_with_keys_of_mixed_types_is_json_with_string_keys() -> None:
    """{1: .., "t": ..} failed with "'<' not supported between instances of 'str' and 'int'"."""
    async def mixed(ctx: inngest.Context) -> Any:
        return await ctx.step.run("a", lambda: {1: "a", "t": (1, 2)})

    outcome = await run(mixed, target=h("a"))
    assert {"data": {"1": "a", "t": [1, 2]}} == outcome.target_output


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
async def test_engine_step_output_nan_or_infinity_fails_naming_it(number: float) -> None:
    """JSON has no NaN or infinity: they came back as null."""
    async def odd(ctx: inngest.Context) -> Any:
        return await ctx.step.run("a", lambda: {"v": number})

    outcome = await run(odd, target=h("a"))
    assert ("step_failed", False) == (outcome.status, outcome.retriable)
    assert "output of step 'a' is not JSON serializable: dict (Out of range float values" in outcome.error["message"]
