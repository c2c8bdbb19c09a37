"""A stock `inngest` (PyPI) app whose functions count the calls they get, for call-sequence parity.

`python parity_app.py fastapi|flask PORT`: async handlers under FastAPI, sync ones under Flask (as
inngest-py's own suite does). The app id comes from BRIDGE_APP_ID (the tests sync it once as an
inline app, once as a default one); BRIDGE_RECORD_DIR receives JSON lines: one per call of a
handler ("calls"), what ran ("ran"), and what the app's logger printed ("logs").
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import inngest

FLAVOUR = sys.argv[1] if len(sys.argv) > 1 else "fastapi"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 3940
APP = os.environ.get("BRIDGE_APP_ID", f"parity-{FLAVOUR}")
RECORDS = Path(os.environ.get("BRIDGE_RECORD_DIR", "."))


def record(key: str, **fields: Any) -> None:
    with open(RECORDS / f"{APP}-{key}.jsonl", "a") as f:
        f.write(json.dumps(fields) + "\n")


class RecordingLogger(logging.Logger):
    """What ctx.logger lets through (the SDK mutes it while replaying memoized code)."""

    def __init__(self) -> None:
        super().__init__("parity")

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:  # type: ignore[override]
        record("logs", message=str(msg))


client = inngest.Inngest(app_id=APP, logger=RecordingLogger())
# Per-run state the handlers keep in this process (the tests start one run per function).
raised: set[str] = set()


def ev(name: str) -> inngest.TriggerEvent:
    return inngest.TriggerEvent(event=f"{APP}/{name}")


def build_async() -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="two-steps", retries=0, trigger=ev("two-steps"))
    async def two_steps(ctx: inngest.Context) -> list[int]:
        record("calls", run_id=ctx.run_id)

        async def one() -> int:
            record("ran", run_id=ctx.run_id, step="one")
            return 1

        async def two() -> int:
            record("ran", run_id=ctx.run_id, step="two")
            return 2

        return [await ctx.step.run("one", one), await ctx.step.run("two", two)]

    @client.create_function(fn_id="child", retries=0, trigger=ev("never"))
    async def child(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(seconds=1))
        return "done"

    @client.create_function(fn_id="parallel", retries=0, trigger=ev("parallel"))
    async def parallel(ctx: inngest.Context) -> Any:
        record("calls", run_id=ctx.run_id)

        async def one_a() -> int:
            return 1

        async def one_b() -> int:
            return 2

        out = await ctx.group.parallel(
            (
                lambda: ctx.step.invoke("invoke", function=child),
                lambda: ctx.step.run("1a", one_a),
                lambda: ctx.step.run("1b", one_b),
                lambda: ctx.step.send_event("send", events=inngest.Event(name=f"{APP}/noop")),
            )
        )

        async def after() -> None:
            record("ran", run_id=ctx.run_id, step="after")

        await ctx.step.run("after", after)
        return [out[0], out[1], out[2], len(out[3])]

    @client.create_function(fn_id="race", retries=0, trigger=ev("race"))
    async def race(ctx: inngest.Context) -> None:
        record("calls", run_id=ctx.run_id, target=ctx.step._target_hashed_id)  # noqa: SLF001

        def stamp(name: str) -> Any:
            async def body() -> None:
                if name.startswith("b"):
                    await asyncio.sleep(2)
                record("ran", run_id=ctx.run_id, step=name)

            return body

        async def fast() -> None:
            await ctx.step.run("a.1", stamp("a.1"))
            await ctx.step.run("a.2", stamp("a.2"))

        async def slow() -> None:
            await ctx.step.run("b.1", stamp("b.1"))
            await ctx.step.run("b.2", stamp("b.2"))

        await ctx.group.parallel((fast, slow), parallel_mode=inngest.ParallelMode.RACE)

    @client.create_function(fn_id="logged", retries=1, trigger=ev("logged"))
    async def logged(ctx: inngest.Context) -> None:
        ctx.logger.info("function start")

        async def step_1() -> None:
            ctx.logger.info("step_1")

        await ctx.step.run("step_1", step_1)
        ctx.logger.info("before function-level raise")
        if f"{ctx.run_id}:fn" not in raised:
            raised.add(f"{ctx.run_id}:fn")
            raise inngest.RetryAfterError("fn", 1000, quiet=True)

        async def step_2() -> None:
            ctx.logger.info("step_2")

        await ctx.step.run("step_2", step_2)
        ctx.logger.info("before step-level raise")

        async def step_3() -> None:
            if f"{ctx.run_id}:step" not in raised:
                raised.add(f"{ctx.run_id}:step")
                raise inngest.RetryAfterError("step", 1000, quiet=True)

        await ctx.step.run("step_3", step_3)
        ctx.logger.info("function end")

    @client.create_function(fn_id="nested", retries=5, trigger=ev("nested"))
    async def nested(ctx: inngest.Context) -> None:
        async def outer() -> None:
            record("ran", run_id=ctx.run_id, step="outer")

            async def inner() -> None:
                record("ran", run_id=ctx.run_id, step="inner")

            await ctx.step.run("inner", inner)

        await ctx.step.run("outer", outer)
        record("ran", run_id=ctx.run_id, step="after")

    @client.create_function(fn_id="flip-flop", retries=0, trigger=ev("flip-flop"))
    async def flip_flop(ctx: inngest.Context) -> None:
        # The order of the two steps changes from one call to the next.
        record("calls", run_id=ctx.run_id)
        calls = len([r for r in _records("calls") if r["run_id"] == ctx.run_id])

        def stamp(name: str) -> Any:
            async def body() -> str:
                record("ran", run_id=ctx.run_id, step=name)
                return name

            return body

        order = ["one", "two"] if calls % 2 else ["two", "one"]
        for name in order:
            await ctx.step.run(name, stamp(name))

    @client.create_function(fn_id="big-state", retries=0, trigger=ev("big-state"))
    async def big_state(ctx: inngest.Context) -> list[int]:
        # 5 MiB of step outputs: calls past the 4 MiB request limit make the SDK fetch the
        # run's state from the API (use_api) instead of receiving it.
        sizes = []
        for i in range(5):

            async def mebibyte(i: int = i) -> str:
                record("ran", run_id=ctx.run_id, step=f"big-{i}")
                return str(i) * 1024 * 1024

            sizes.append(len(await ctx.step.run(f"big-{i}", mebibyte)))
        return sizes

    @client.create_function(
        fn_id="slow-cancellable",
        retries=0,
        trigger=ev("slow-cancellable"),
        cancel=[inngest.Cancel(event=f"{APP}/cancel", if_exp="event.data.id == async.data.id")],
    )
    async def slow_cancellable(ctx: inngest.Context) -> str:
        # No steps: the whole function is one call, and the cancel event arrives during it.
        record("ran", run_id=ctx.run_id, step="started", id=ctx.event.data["id"])
        await asyncio.sleep(3)
        return "not cancelled"

    return [two_steps, child, parallel, race, logged, nested, flip_flop, big_state, slow_cancellable]


def build_sync() -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="two-steps", retries=0, trigger=ev("two-steps"))
    def two_steps(ctx: inngest.ContextSync) -> list[int]:
        record("calls", run_id=ctx.run_id)

        def one() -> int:
            record("ran", run_id=ctx.run_id, step="one")
            return 1

        def two() -> int:
            record("ran", run_id=ctx.run_id, step="two")
            return 2

        return [ctx.step.run("one", one), ctx.step.run("two", two)]

    @client.create_function(fn_id="logged", retries=1, trigger=ev("logged"))
    def logged(ctx: inngest.ContextSync) -> None:
        ctx.logger.info("function start")

        def step_1() -> None:
            ctx.logger.info("step_1")

        ctx.step.run("step_1", step_1)
        ctx.logger.info("before function-level raise")
        if f"{ctx.run_id}:fn" not in raised:
            raised.add(f"{ctx.run_id}:fn")
            raise inngest.RetryAfterError("fn", 1000, quiet=True)

        def step_2() -> None:
            ctx.logger.info("step_2")

        ctx.step.run("step_2", step_2)
        ctx.logger.info("before step-level raise")

        def step_3() -> None:
            if f"{ctx.run_id}:step" not in raised:
                raised.add(f"{ctx.run_id}:step")
                raise inngest.RetryAfterError("step", 1000, quiet=True)

        ctx.step.run("step_3", step_3)
        ctx.logger.info("function end")

    @client.create_function(fn_id="nested", retries=5, trigger=ev("nested"))
    def nested(ctx: inngest.ContextSync) -> None:
        def outer() -> None:
            record("ran", run_id=ctx.run_id, step="outer")

            def inner() -> None:
                record("ran", run_id=ctx.run_id, step="inner")

            ctx.step.run("inner", inner)

        ctx.step.run("outer", outer)
        record("ran", run_id=ctx.run_id, step="after")

    return [two_steps, logged, nested]


def _records(key: str) -> list[dict[str, Any]]:
    path = RECORDS / f"{APP}-{key}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main() -> None:
    if FLAVOUR == "flask":
        import flask
        import inngest.flask

        app = flask.Flask(__name__)
        inngest.flask.serve(app, client, build_sync())
        app.run(host="127.0.0.1", port=PORT, threaded=True)
    else:
        import fastapi
        import inngest.fast_api
        import uvicorn

        app = fastapi.FastAPI()
        inngest.fast_api.serve(app, client, build_async())
        uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")


if __name__ == "__main__":
    main()
