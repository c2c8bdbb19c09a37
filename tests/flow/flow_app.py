"""The app the flow-control suite's workers serve: one function per option under test.

Handlers record each run start as a JSON line in $FLOW_RECORD_DIR/<key>.jsonl (key =
event.data["key"], unique per test) with the wall-clock time, so tests can measure start delays.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Any

from compat import inngest

client = inngest.Inngest(app_id="flow")


def record(key: str, what: str, **fields: object) -> None:
    folder = Path(os.environ["FLOW_RECORD_DIR"])
    line = json.dumps({"what": what, "t": time.time(), **fields})
    with open(folder / f"{key}.jsonl", "a") as f:
        f.write(line + "\n")


def _started(ctx: inngest.Context) -> dict[str, Any]:
    """Record the run's start once (a step), and answer what the run saw."""
    return {
        "n": ctx.event.data.get("n"),
        "ns": [e.data.get("n") for e in ctx.events],
        "run_id": ctx.run_id,
    }


async def _record_start(ctx: inngest.Context) -> dict[str, Any]:
    seen = _started(ctx)
    key = str(ctx.event.data.get("key"))
    await ctx.step.run("started", lambda: record(key, "started", **seen))
    return seen


@client.create_function(fn_id="plain", trigger=inngest.TriggerEvent(event="flow/plain"))
async def plain(ctx: inngest.Context) -> dict[str, Any]:
    return _started(ctx)


# -- rate limit ---------------------------------------------------------------------------------
@client.create_function(
    fn_id="rate-limit-day",
    trigger=inngest.TriggerEvent(event="flow/rate-limit-day"),
    rate_limit=inngest.RateLimit(limit=5, period=datetime.timedelta(hours=24), key="event.data.key"),
)
async def rate_limit_day(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


@client.create_function(
    fn_id="rate-limit",
    trigger=inngest.TriggerEvent(event="flow/rate-limit"),
    # emission 6 s, burst 10 // 10 = 1: two back to back, then one every 6 s
    rate_limit=inngest.RateLimit(limit=10, period=datetime.timedelta(seconds=60), key="event.data.key"),
)
async def rate_limit(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


@client.create_function(
    fn_id="rate-limit-burst",
    trigger=inngest.TriggerEvent(event="flow/rate-limit-burst"),
    # burst 20 // 10 = 2: three back to back, then one every 72 min
    rate_limit=inngest.RateLimit(limit=20, period=datetime.timedelta(hours=24), key="event.data.key"),
)
async def rate_limit_burst(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


@client.create_function(
    fn_id="rate-limit-key-error",
    trigger=inngest.TriggerEvent(event="flow/rate-limit-key-error"),
    rate_limit=inngest.RateLimit(
        limit=5, period=datetime.timedelta(hours=1), key="string(10 / event.data.d)"
    ),
)
async def rate_limit_key_error(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


# -- idempotency --------------------------------------------------------------------------------
@client.create_function(
    fn_id="idempotent",
    trigger=inngest.TriggerEvent(event="flow/idempotent"),
    idempotency="event.data.cart_id",
)
async def idempotent(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


# -- debounce -----------------------------------------------------------------------------------
@client.create_function(
    fn_id="debounce",
    trigger=inngest.TriggerEvent(event="flow/debounce"),
    debounce=inngest.Debounce(
        period=datetime.timedelta(seconds=2), key="event.data.key", timeout=datetime.timedelta(seconds=6)
    ),
)
async def debounce(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


@client.create_function(
    fn_id="debounce-singleton",
    trigger=inngest.TriggerEvent(event="flow/debounce-singleton"),
    debounce=inngest.Debounce(period=datetime.timedelta(seconds=1), key="event.data.key"),
    singleton=inngest.Singleton(mode="skip", key="event.data.key"),
)
async def debounce_singleton(ctx: inngest.Context) -> dict[str, Any]:
    seen = await _record_start(ctx)
    await ctx.step.sleep("hold", datetime.timedelta(seconds=float(ctx.event.data.get("hold", 0))))
    return seen


# -- batch --------------------------------------------------------------------------------------
@client.create_function(
    fn_id="batch",
    trigger=inngest.TriggerEvent(event="flow/batch"),
    batch_events=inngest.Batch(
        max_size=3,
        timeout=datetime.timedelta(seconds=2),
        key="event.data.key",
        if_exp="event.data.solo != true",
    ),
)
async def batch(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


@client.create_function(
    fn_id="batch-big",
    trigger=inngest.TriggerEvent(event="flow/batch-big"),
    batch_events=inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=2), key="event.data.key"),
)
async def batch_big(ctx: inngest.Context) -> dict[str, Any]:
    return await _record_start(ctx)


# -- singleton ----------------------------------------------------------------------------------
@client.create_function(
    fn_id="singleton-skip",
    trigger=inngest.TriggerEvent(event="flow/singleton-skip"),
    singleton=inngest.Singleton(mode="skip", key="event.data.key"),
)
async def singleton_skip(ctx: inngest.Context) -> dict[str, Any]:
    seen = await _record_start(ctx)
    await ctx.step.sleep("hold", datetime.timedelta(seconds=float(ctx.event.data.get("hold", 3))))
    return seen


@client.create_function(
    fn_id="singleton-cancel",
    trigger=inngest.TriggerEvent(event="flow/singleton-cancel"),
    singleton=inngest.Singleton(mode="cancel", key="event.data.key"),
)
async def singleton_cancel(ctx: inngest.Context) -> dict[str, Any]:
    seen = await _record_start(ctx)
    await ctx.step.sleep("hold", datetime.timedelta(seconds=float(ctx.event.data.get("hold", 30))))
    return seen


@client.create_function(
    fn_id="cron-singleton",
    # Once a year: the test triggers the schedule by hand.
    trigger=inngest.TriggerCron(cron="0 0 1 1 *"),
    singleton=inngest.Singleton(mode="skip"),
)
async def cron_singleton(ctx: inngest.Context) -> dict[str, Any]:
    await ctx.step.run("started", lambda: record("cron-singleton", "started", name=ctx.event.name))
    await ctx.step.sleep("hold", datetime.timedelta(seconds=4))
    return {"cron": ctx.event.data.get("cron")}


@client.create_function(
    fn_id="on-cancelled",
    trigger=inngest.TriggerEvent(
        event="inngest/function.cancelled",
        expression="event.data.function_id == 'flow-singleton-cancel'",
    ),
)
def on_cancelled(ctx: inngest.ContextSync) -> None:
    original = ctx.event.data["event"]
    record(str(original["data"]["key"]), "cancelled", run_id=ctx.event.data["run_id"])
