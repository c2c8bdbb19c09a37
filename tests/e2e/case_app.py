"""The app the end-to-end suite's worker serves: one function per behaviour under test.

Steps record what they do as JSON lines in $CASE_RECORD_DIR/<run key>.jsonl so tests can check
what executed, how often, and when (the key is event.data["key"], unique per test).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import random
import time
from pathlib import Path

from compat import inngest, temporal_options
from examples.shop import approve_document, nightly_report, sync_user  # served too: app "shop"

client = inngest.Inngest(app_id="cases")
SHOP_FUNCTIONS = [sync_user, approve_document, nightly_report]


def record(key: str, what: str, **fields: object) -> None:
    folder = Path(os.environ["CASE_RECORD_DIR"])
    line = json.dumps({"what": what, "t": time.time(), **fields})
    with open(folder / f"{key}.jsonl", "a") as f:
        f.write(line + "\n")


def _failure_recorder(ctx: inngest.Context) -> None:
    original = ctx.event.data["event"]
    record(
        original["data"]["key"],
        "on_failure",
        error=ctx.event.data["error"],
        function_id=ctx.event.data["function_id"],
        run_id=ctx.event.data["run_id"],
    )


async def on_failure(ctx: inngest.Context) -> None:
    _failure_recorder(ctx)


# -- the user story -----------------------------------------------------------------------------
@client.create_function(fn_id="two-steps", trigger=inngest.TriggerEvent(event="cases/two-steps"))
async def two_steps(ctx: inngest.Context) -> dict:
    key = ctx.event.data["key"]
    user = await ctx.step.run("fetch-user", lambda: (record(key, "fetch-user"), {"id": key})[1])
    await ctx.step.sleep("wait-for-sync", datetime.timedelta(seconds=1))
    return await ctx.step.run("sync-crm", lambda: (record(key, "sync-crm"), {"synced": user["id"]})[1])


# -- C04: steps in a loop, with non-step code that changes --------------------------------------
@client.create_function(fn_id="loop", trigger=inngest.TriggerEvent(event="cases/loop"))
async def loop(ctx: inngest.Context) -> list:
    key = ctx.event.data["key"]
    results = []
    for i in range(3):
        r = random.random()  # re-runs on every replay: that is the model
        record(key, "outside", i=i, r=r)
        await ctx.step.sleep("wait", 1000)
        results.append(await ctx.step.run(f"work-{i}", lambda i=i, r=r: (record(key, "work", i=i, r=r), i * 10)[1]))
    return results


# -- C03: invoking a function that does not exist ------------------------------------------------
@client.create_function(
    fn_id="invoke-missing", trigger=inngest.TriggerEvent(event="cases/invoke-missing"), on_failure=on_failure
)
async def invoke_missing(ctx: inngest.Context) -> object:
    return await ctx.step.invoke_by_id("call", function_id="no-such-fn")


# -- C05: a step fails right after a pause ------------------------------------------------------
async def _pause(ctx: inngest.Context, kind: str) -> None:
    key = ctx.event.data["key"]
    if kind == "wait":
        await ctx.step.wait_for_event(
            "resume", event="cases/resume", if_exp="async.data.key == event.data.key", timeout=60_000
        )
    elif kind == "sleep":
        await ctx.step.sleep("nap", 1000)
    elif kind == "invoke":
        await ctx.step.invoke("child", function=child, data={"key": key})


def _fail(key: str) -> None:
    record(key, "attempt")
    raise ValueError(f"boom {key}")


@client.create_function(
    fn_id="pause-then-fail", trigger=inngest.TriggerEvent(event="cases/pause-then-fail"), retries=0, on_failure=on_failure
)
async def pause_then_fail(ctx: inngest.Context) -> None:
    await _pause(ctx, ctx.event.data["pause"])
    await ctx.step.run("fails", _fail, ctx.event.data["key"])


@client.create_function(
    fn_id="pause-then-fail-retry1",
    trigger=inngest.TriggerEvent(event="cases/pause-then-fail-retry1"),
    retries=1,
    on_failure=on_failure,
)
async def pause_then_fail_retry1(ctx: inngest.Context) -> None:
    await _pause(ctx, ctx.event.data["pause"])
    await ctx.step.run("fails", _fail, ctx.event.data["key"])


@client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="cases/child"))
async def child(ctx: inngest.Context) -> dict:
    key = ctx.event.data["key"]
    return await ctx.step.run("child-work", lambda: (record(key, "child"), {"child_of": key})[1])


@client.create_function(fn_id="invoke-child", trigger=inngest.TriggerEvent(event="cases/invoke-child"))
async def invoke_child(ctx: inngest.Context) -> dict:
    got = await ctx.step.invoke("call-child", function=child, data={"key": ctx.event.data["key"]})
    return {"got": got}


# -- C07: wait_for_event expressions ------------------------------------------------------------
@client.create_function(fn_id="wait-doc", trigger=inngest.TriggerEvent(event="cases/wait-doc"), retries=0)
async def wait_doc(ctx: inngest.Context) -> dict:
    doc_id = ctx.event.data["doc_id"]
    quoted = ctx.event.data.get("quoted", False)
    expr = f"async.data.doc_id == '{doc_id}'" if quoted else "async.data.doc_id == " + doc_id
    approved = await ctx.step.wait_for_event("w", event="doc/approved", if_exp=expr, timeout=datetime.timedelta(seconds=30))
    return {"approved": approved is not None, "by": None if approved is None else approved.data.get("by")}


@client.create_function(fn_id="wait-timeout", trigger=inngest.TriggerEvent(event="cases/wait-timeout"))
async def wait_timeout(ctx: inngest.Context) -> dict:
    got = await ctx.step.wait_for_event(
        "w", event="cases/never", if_exp="async.data.key == event.data.key", timeout=datetime.timedelta(seconds=1)
    )
    return {"got": got}


# -- C08: NonRetriableError inside a step -------------------------------------------------------
def _declined(key: str) -> None:
    record(key, "attempt")
    raise inngest.NonRetriableError("card declined")


@client.create_function(fn_id="charge", trigger=inngest.TriggerEvent(event="cases/charge"), on_failure=on_failure)
async def charge(ctx: inngest.Context) -> None:
    await ctx.step.run("charge", _declined, ctx.event.data["key"])


# -- retries, StepError, RetryAfterError --------------------------------------------------------
def _flaky(key: str, attempt: int) -> dict:
    record(key, "attempt", attempt=attempt)
    if attempt < 2:
        raise RuntimeError(f"flaky attempt {attempt}")
    return {"ok_at": attempt}


@client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="cases/flaky"))
async def flaky(ctx: inngest.Context) -> dict:
    return await ctx.step.run("flaky", _flaky, ctx.event.data["key"], ctx.attempt)


@client.create_function(fn_id="step-error", trigger=inngest.TriggerEvent(event="cases/step-error"), retries=1)
async def step_error(ctx: inngest.Context) -> dict:
    try:
        await ctx.step.run("always-fails", _fail, ctx.event.data["key"])
    except inngest.StepError as err:
        return {"caught": err.name, "message": err.message}
    return {"caught": None}


def _retry_after(key: str, attempt: int) -> str:
    record(key, "attempt", attempt=attempt)
    if attempt == 0:
        raise inngest.RetryAfterError("later", datetime.timedelta(seconds=2))
    return "done"


@client.create_function(fn_id="retry-after", trigger=inngest.TriggerEvent(event="cases/retry-after"))
async def retry_after(ctx: inngest.Context) -> str:
    return await ctx.step.run("s", _retry_after, ctx.event.data["key"], ctx.attempt)


# -- parallel, send_event, sync and 0.4-style handlers, kill -9 ----------------------------------
@client.create_function(fn_id="parallel", trigger=inngest.TriggerEvent(event="cases/parallel"))
async def parallel(ctx: inngest.Context) -> list:
    key = ctx.event.data["key"]

    async def branch(name: str) -> str:
        a = await ctx.step.run(f"{name}-1", lambda: (record(key, "step", id=f"{name}-1"), f"{name}1")[1])
        b = await ctx.step.run(f"{name}-2", lambda: (record(key, "step", id=f"{name}-2"), f"{name}2")[1])
        return a + b

    return list(await ctx.group.parallel((lambda: branch("a"), lambda: branch("x"))))


@client.create_function(fn_id="sender", trigger=inngest.TriggerEvent(event="cases/sender"))
async def sender(ctx: inngest.Context) -> list:
    return await ctx.step.send_event("send", inngest.Event(name="cases/child", data={"key": ctx.event.data["key"] + "-sent"}))


@client.create_function(fn_id="send-named", trigger=inngest.TriggerEvent(event="cases/send-named"))
async def send_named(ctx: inngest.Context) -> list:
    return await ctx.step.send_event("send", inngest.Event(name=ctx.event.data["name"], data={}))


@client.create_function(fn_id="sync-old-style", trigger=inngest.TriggerEvent(event="cases/sync"))
def sync_old_style(ctx: inngest.ContextSync, step: inngest.StepSync) -> dict:
    n = step.run("n", lambda: 41)
    step.sleep("s", 1000)
    return {"n": n + 1, "attempt": ctx.attempt, "run_id": ctx.run_id}


@client.create_function(fn_id="slow-steps", trigger=inngest.TriggerEvent(event="cases/slow-steps"))
async def slow_steps(ctx: inngest.Context) -> list:
    key = ctx.event.data["key"]
    out = []
    for i in range(3):
        def body(i: int = i) -> int:
            record(key, "start", i=i, pid=os.getpid())
            time.sleep(ctx.event.data.get("seconds", 2))
            record(key, "end", i=i, pid=os.getpid())
            return i
        out.append(await ctx.step.run(f"slow-{i}", body))
    return out


@client.create_function(fn_id="wildcard", trigger=[inngest.TriggerEvent(event="cases/wild.*"), inngest.TriggerEvent(event="cases/wild.one")])
async def wildcard(ctx: inngest.Context) -> str:
    return ctx.event.name


@client.create_function(
    fn_id="filtered", trigger=inngest.TriggerEvent(event="cases/filtered", expression="event.data.amount > 100")
)
async def filtered(ctx: inngest.Context) -> int:
    return ctx.event.data["amount"]


@client.create_function(fn_id="dedup", trigger=inngest.TriggerEvent(event="order/placed"))
async def dedup(ctx: inngest.Context) -> str:
    record(ctx.event.data.get("key", "dedup"), "run", run_id=ctx.run_id)
    return ctx.event.id


@client.create_function(fn_id="steps-20", trigger=inngest.TriggerEvent(event="cases/steps-20"))
async def steps_20(ctx: inngest.Context) -> float:
    stamps = []
    for i in range(20):
        stamps.append(await ctx.step.run(f"s{i}", time.time))
    return (stamps[-1] - stamps[0]) / 19


@client.create_function(fn_id="wait-key", trigger=inngest.TriggerEvent(event="cases/wait-key"))
async def wait_key(ctx: inngest.Context) -> object:
    got = await ctx.step.wait_for_event(
        "w", event="cases/key-arrived", if_exp="async.data.key == event.data.key", timeout=60_000
    )
    return None if got is None else got.data["n"]


@client.create_function(
    fn_id="finished-listener",
    trigger=inngest.TriggerEvent(
        event="inngest/function.finished", expression="event.data.function_id == 'cases-two-steps'"
    ),
)
async def finished_listener(ctx: inngest.Context) -> None:
    data = ctx.event.data
    record(data["event"]["data"]["key"], "finished", status=data["_inngest"]["status"], result=data.get("result"))


@client.create_function(fn_id="many-steps", trigger=inngest.TriggerEvent(event="cases/many-steps"))
async def many_steps(ctx: inngest.Context) -> dict:
    n = ctx.event.data.get("n", 60)
    size = ctx.event.data.get("size", 0)
    total = 0
    for i in range(n):
        out = await ctx.step.run(f"s{i}", lambda i=i: {"i": i, "pad": "x" * size})
        total += out["i"]
    return {"total": total, "steps": n}


@client.create_function(fn_id="big-steps", trigger=inngest.TriggerEvent(event="cases/big-steps"))
async def big_steps(ctx: inngest.Context) -> dict:
    sizes = ctx.event.data["sizes"]
    lengths = []
    for i, size in enumerate(sizes):
        out = await ctx.step.run(f"load-{i}", lambda size=size: {"blob": "x" * size})
        lengths.append(len(out["blob"]))
    return {"lengths": lengths}


# -- flow control inside runs ----------------------------------------------------------------------
def _timed(key: str, label: str, seconds: float) -> str:
    record(key, "body-start", label=label)
    time.sleep(seconds)
    record(key, "body-end", label=label)
    return label


@client.create_function(
    fn_id="conc-sleepers",
    trigger=inngest.TriggerEvent(event="cases/conc-sleepers"),
    concurrency=[inngest.Concurrency(limit=1, key="event.data.key")],
)
async def conc_sleepers(ctx: inngest.Context) -> str:
    """C06: sleeping runs hold no concurrency slot; step bodies never overlap."""
    await ctx.step.sleep("s", 3000)
    return await ctx.step.run("short", _timed, ctx.event.data["key"], ctx.event.data["label"], 0.3)


@client.create_function(
    fn_id="prioritized",
    trigger=inngest.TriggerEvent(event="cases/prioritized"),
    concurrency=[inngest.Concurrency(limit=1, key="event.data.key")],
    priority=inngest.Priority(run="event.data.priority"),
)
async def prioritized(ctx: inngest.Context) -> str:
    return await ctx.step.run("work", _timed, ctx.event.data["key"], ctx.event.data["label"], 1.0)


@client.create_function(
    fn_id="throttled",
    trigger=inngest.TriggerEvent(event="cases/throttled"),
    throttle=inngest.Throttle(limit=2, period=datetime.timedelta(seconds=6), burst=1, key="event.data.key"),
)
async def throttled(ctx: inngest.Context) -> str:
    return await ctx.step.run("start", lambda: (record(ctx.event.data["key"], "started", label=ctx.event.data["label"]), "ok")[1])


@client.create_function(
    fn_id="cancellable",
    trigger=inngest.TriggerEvent(event="cases/cancellable"),
    cancel=[inngest.Cancel(event="cases/cancel-it", if_exp="async.data.key == event.data.key")],
    on_failure=on_failure,
)
async def cancellable(ctx: inngest.Context) -> str:
    await ctx.step.sleep("long", datetime.timedelta(seconds=30))
    return "not cancelled"


@client.create_function(
    fn_id="cancel-mid-step",
    trigger=inngest.TriggerEvent(event="cases/cancel-mid-step"),
    cancel=[inngest.Cancel(event="cases/cancel-it", if_exp="async.data.key == event.data.key")],
)
async def cancel_mid_step(ctx: inngest.Context) -> str:
    await _long_step_then_another(ctx)
    return "not cancelled"


async def _long_step_then_another(ctx: inngest.Context) -> None:
    """A 3 s step, then a step that records "after" (a cancel that comes meanwhile stops it)."""
    key = ctx.event.data["key"]

    async def long() -> str:
        record(key, "long-start")
        await asyncio.sleep(3)
        record(key, "long-end")
        return "long done"

    await ctx.step.run("long", long)
    await ctx.step.run("after", lambda: record(key, "after"))


@client.create_function(
    fn_id="finish-timeout-mid-step",
    trigger=inngest.TriggerEvent(event="cases/finish-timeout-mid-step"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=1)),
)
async def finish_timeout_mid_step(ctx: inngest.Context) -> str:
    await _long_step_then_another(ctx)
    return "finished"


@client.create_function(
    fn_id="restartable",
    trigger=inngest.TriggerEvent(event="cases/restart"),
    cancel=[inngest.Cancel(event="cases/restart")],
)
async def restartable(ctx: inngest.Context) -> str:
    await ctx.step.sleep("wait", datetime.timedelta(seconds=4))
    return ctx.event.data["label"]


@client.create_function(
    fn_id="finish-timeout",
    trigger=inngest.TriggerEvent(event="cases/finish-timeout"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=2)),
)
async def finish_timeout(ctx: inngest.Context) -> str:
    await ctx.step.run("first", lambda: "go")
    await ctx.step.sleep("long", datetime.timedelta(seconds=20))
    return "finished"


@client.create_function(
    fn_id="start-timeout",
    trigger=inngest.TriggerEvent(event="cases/start-timeout"),
    throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=30), burst=0, key="event.data.key"),
    timeouts=inngest.Timeouts(start=datetime.timedelta(seconds=2)),
)
async def start_timeout(ctx: inngest.Context) -> str:
    return await ctx.step.run("only", lambda: ctx.event.data["label"])


@temporal_options(local_steps=True)
@client.create_function(fn_id="fast-steps", trigger=inngest.TriggerEvent(event="cases/fast-steps"))
async def fast_steps(ctx: inngest.Context) -> dict:
    total = 0
    for i in range(20):
        total += await ctx.step.run(f"s{i}", lambda i=i: i)
    await ctx.step.sleep("nap", 1000)
    flaky_ok = await ctx.step.run("flaky", _flaky, ctx.event.data["key"], ctx.attempt)
    return {"total": total, "flaky": flaky_ok}


@client.create_function(
    fn_id="limited-child",
    trigger=inngest.TriggerEvent(event="cases/limited-child"),
    rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(seconds=60), key="event.data.key"),
)
async def limited_child(ctx: inngest.Context) -> str:
    return await ctx.step.run("work", lambda: "child ran")


@client.create_function(fn_id="invoke-limited", trigger=inngest.TriggerEvent(event="cases/invoke-limited"))
async def invoke_limited(ctx: inngest.Context) -> dict:
    key = ctx.event.data["key"]
    first = await ctx.step.invoke("first", function=limited_child, data={"key": key})
    try:
        await ctx.step.invoke("second", function=limited_child, data={"key": key})
        second = "ran"
    except inngest.StepError as err:
        second = err.name
    return {"first": first, "second": second}


@client.create_function(
    fn_id="late-start",
    trigger=inngest.TriggerEvent(event="cases/late-start"),
    timeouts=inngest.Timeouts(start=datetime.timedelta(seconds=2)),
)
async def late_start(ctx: inngest.Context) -> str:
    return await ctx.step.run("only", lambda: "ran")


@client.create_function(fn_id="gathered", trigger=inngest.TriggerEvent(event="cases/gathered"))
async def gathered(ctx: inngest.Context) -> list:
    """Steps awaited together with asyncio.gather, as users of the stock SDK write them."""
    key = ctx.event.data["key"]

    def step(n: int):  # noqa: ANN202
        async def body() -> int:
            await asyncio.sleep(0.2)
            record(key, "step", n=n)
            return n

        return body

    return list(await asyncio.gather(*(ctx.step.run(f"g{n}", step(n)) for n in (1, 2, 3))))
