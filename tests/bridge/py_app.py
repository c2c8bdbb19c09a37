"""A stock `inngest` (PyPI) app, unmodified SDK, as users write them: `python py_app.py fastapi|flask PORT`.

The FastAPI flavour uses async handlers, the Flask flavour sync ones (as inngest-py's own suite
does). The app id comes from BRIDGE_APP_ID, so both flavours can be synced side by side; event
names are prefixed with it. BRIDGE_RECORD_DIR receives JSON lines the tests read (attempts, what a
failure handler saw). Everything else is configured the stock way: INNGEST_DEV, INNGEST_SIGNING_KEY.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

import inngest
from inngest.experimental import ai

FLAVOUR = sys.argv[1] if len(sys.argv) > 1 else "fastapi"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 3939
APP = os.environ.get("BRIDGE_APP_ID", f"bridge-{FLAVOUR}")
RECORDS = Path(os.environ.get("BRIDGE_RECORD_DIR", "."))

client = inngest.Inngest(app_id=APP)


def record(key: str, **fields: Any) -> None:
    with open(RECORDS / f"{APP}-{key}.jsonl", "a") as f:
        f.write(json.dumps(fields) + "\n")


def ev(name: str) -> inngest.TriggerEvent:
    return inngest.TriggerEvent(event=f"{APP}/{name}")


def adapter() -> ai.anthropic.Adapter:
    return ai.anthropic.Adapter(
        auth_key="sk-test-123",
        model="claude-test",
        base_url=os.environ.get("BRIDGE_AI_URL", "http://127.0.0.1:9/v1"),
        headers={"anthropic-version": "2023-06-01", "x-test": "yes"},
    )



def cancel_on() -> inngest.Cancel:
    return inngest.Cancel(event=f"{APP}/cancel", if_exp="event.data.id == async.data.id")


def debounce() -> inngest.Debounce:
    return inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.key")


def build_async() -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="steps", trigger=ev("steps"))
    async def steps(ctx: inngest.Context) -> dict[str, Any]:
        n = ctx.event.data["n"]

        async def add_one() -> int:
            return n + 1

        a = await ctx.step.run("add-one", add_one)

        async def double() -> int:
            return a * 2

        b = await ctx.step.run("double", double)
        return {"a": a, "b": b, "run_id": ctx.run_id}

    @client.create_function(fn_id="sleepy", trigger=ev("sleepy"))
    async def sleepy(ctx: inngest.Context) -> dict[str, Any]:
        async def before() -> float:
            return datetime.datetime.now(datetime.timezone.utc).timestamp()

        start = await ctx.step.run("before-nap", before)
        await ctx.step.sleep("nap", datetime.timedelta(seconds=2))

        async def after() -> float:
            return datetime.datetime.now(datetime.timezone.utc).timestamp()

        end = await ctx.step.run("after-nap", after)
        return {"slept": end - start}

    @client.create_function(fn_id="waiter", trigger=ev("wait"))
    async def waiter(ctx: inngest.Context) -> dict[str, Any]:
        async def ready() -> str:
            record("waiting", id=ctx.event.data["id"])
            return "ready"

        await ctx.step.run("ready", ready)
        got = await ctx.step.wait_for_event(
            "approval",
            event=f"{APP}/approved",
            if_exp="event.data.id == async.data.id",
            timeout=datetime.timedelta(seconds=ctx.event.data.get("timeout_s", 30)),
        )
        return {"approved": None if got is None else got.data}

    @client.create_function(fn_id="child", trigger=ev("child"))
    async def child(ctx: inngest.Context) -> dict[str, Any]:
        async def square() -> int:
            return int(ctx.event.data["x"]) ** 2

        return {"sq": await ctx.step.run("square", square)}

    @client.create_function(fn_id="invoker", trigger=ev("invoke"))
    async def invoker(ctx: inngest.Context) -> dict[str, Any]:
        got = await ctx.step.invoke("call-child", function=child, data={"x": ctx.event.data["x"]})
        return {"child": got}

    @client.create_function(fn_id="parallel", trigger=ev("parallel"))
    async def parallel(ctx: inngest.Context) -> dict[str, Any]:
        async def one() -> str:
            return "one"

        async def two() -> str:
            return "two"

        both = await ctx.group.parallel(
            (lambda: ctx.step.run("p-one", one), lambda: ctx.step.run("p-two", two))
        )

        async def after() -> str:
            return "after"

        return {"parallel": list(both), "after": await ctx.step.run("after", after)}

    @client.create_function(fn_id="flaky", trigger=ev("flaky"), retries=2)
    async def flaky(ctx: inngest.Context) -> dict[str, Any]:
        async def shaky() -> str:
            record("flaky", attempt=ctx.attempt)
            if ctx.attempt < 1:
                raise ValueError("not yet")
            return f"ok on attempt {ctx.attempt}"

        return {"result": await ctx.step.run("shaky", shaky)}

    @client.create_function(fn_id="no-retry", trigger=ev("no-retry"), retries=3)
    async def no_retry(ctx: inngest.Context) -> None:
        async def refuse() -> None:
            record("no-retry", attempt=ctx.attempt)
            raise inngest.NonRetriableError("refused for good")

        await ctx.step.run("refuse", refuse)

    @client.create_function(fn_id="step-error", trigger=ev("step-error"), retries=1)
    async def step_error(ctx: inngest.Context) -> dict[str, Any]:
        async def boom() -> None:
            raise ValueError("boom")

        try:
            await ctx.step.run("boom", boom)
        except inngest.StepError as err:
            return {"caught": err.name, "message": err.message}
        return {"caught": None}

    async def on_failure(ctx: inngest.Context) -> None:
        record(
            "failure",
            function_id=ctx.event.data.get("function_id"),
            run_id=ctx.event.data.get("run_id"),
            error=ctx.event.data.get("error"),
            original=(ctx.event.data.get("event") or {}).get("data"),
        )

    @client.create_function(fn_id="fails", trigger=ev("fails"), retries=0, on_failure=on_failure)
    async def fails(ctx: inngest.Context) -> None:
        raise RuntimeError("function failed on purpose")

    @client.create_function(fn_id="ask", trigger=ev("ask"))
    async def ask(ctx: inngest.Context) -> Any:
        body = {"messages": [{"role": "user", "content": ctx.event.data["q"]}], "max_tokens": 10}
        return await ctx.step.ai.infer("ask-model", adapter=adapter(), body=body)

    @client.create_function(fn_id="cancellable", trigger=ev("cancellable"), cancel=[cancel_on()])
    async def cancellable(ctx: inngest.Context) -> str:
        async def started() -> str:
            record("cancellable", id=ctx.event.data["id"])
            return "started"

        await ctx.step.run("started", started)
        await ctx.step.sleep("long-nap", datetime.timedelta(seconds=60))
        return "not cancelled"

    @client.create_function(fn_id="debounced", trigger=ev("debounced"), debounce=debounce())
    async def debounced(ctx: inngest.Context) -> int:
        record("debounced", debounce_key=ctx.event.data["key"], n=ctx.event.data["n"])
        return int(ctx.event.data["n"])

    return [
        steps, sleepy, waiter, child, invoker, parallel, flaky, no_retry, step_error, fails, ask,
        cancellable, debounced,
    ]


def build_sync() -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="steps", trigger=ev("steps"))
    def steps(ctx: inngest.ContextSync) -> dict[str, Any]:
        n = ctx.event.data["n"]
        a = ctx.step.run("add-one", lambda: n + 1)
        b = ctx.step.run("double", lambda: a * 2)
        return {"a": a, "b": b, "run_id": ctx.run_id}

    @client.create_function(fn_id="sleepy", trigger=ev("sleepy"))
    def sleepy(ctx: inngest.ContextSync) -> dict[str, Any]:
        now = lambda: datetime.datetime.now(datetime.timezone.utc).timestamp()  # noqa: E731
        start = ctx.step.run("before-nap", now)
        ctx.step.sleep("nap", datetime.timedelta(seconds=2))
        end = ctx.step.run("after-nap", now)
        return {"slept": end - start}

    @client.create_function(fn_id="waiter", trigger=ev("wait"))
    def waiter(ctx: inngest.ContextSync) -> dict[str, Any]:
        def ready() -> str:
            record("waiting", id=ctx.event.data["id"])
            return "ready"

        ctx.step.run("ready", ready)
        got = ctx.step.wait_for_event(
            "approval",
            event=f"{APP}/approved",
            if_exp="event.data.id == async.data.id",
            timeout=datetime.timedelta(seconds=ctx.event.data.get("timeout_s", 30)),
        )
        return {"approved": None if got is None else got.data}

    @client.create_function(fn_id="child", trigger=ev("child"))
    def child(ctx: inngest.ContextSync) -> dict[str, Any]:
        return {"sq": ctx.step.run("square", lambda: int(ctx.event.data["x"]) ** 2)}

    @client.create_function(fn_id="invoker", trigger=ev("invoke"))
    def invoker(ctx: inngest.ContextSync) -> dict[str, Any]:
        got = ctx.step.invoke("call-child", function=child, data={"x": ctx.event.data["x"]})
        return {"child": got}

    @client.create_function(fn_id="parallel", trigger=ev("parallel"))
    def parallel(ctx: inngest.ContextSync) -> dict[str, Any]:
        both = ctx.group.parallel(
            (lambda: ctx.step.run("p-one", lambda: "one"), lambda: ctx.step.run("p-two", lambda: "two"))
        )
        return {"parallel": list(both), "after": ctx.step.run("after", lambda: "after")}

    @client.create_function(fn_id="flaky", trigger=ev("flaky"), retries=2)
    def flaky(ctx: inngest.ContextSync) -> dict[str, Any]:
        def shaky() -> str:
            record("flaky", attempt=ctx.attempt)
            if ctx.attempt < 1:
                raise ValueError("not yet")
            return f"ok on attempt {ctx.attempt}"

        return {"result": ctx.step.run("shaky", shaky)}

    @client.create_function(fn_id="no-retry", trigger=ev("no-retry"), retries=3)
    def no_retry(ctx: inngest.ContextSync) -> None:
        def refuse() -> None:
            record("no-retry", attempt=ctx.attempt)
            raise inngest.NonRetriableError("refused for good")

        ctx.step.run("refuse", refuse)

    @client.create_function(fn_id="step-error", trigger=ev("step-error"), retries=1)
    def step_error(ctx: inngest.ContextSync) -> dict[str, Any]:
        def boom() -> None:
            raise ValueError("boom")

        try:
            ctx.step.run("boom", boom)
        except inngest.StepError as err:
            return {"caught": err.name, "message": err.message}
        return {"caught": None}

    def on_failure(ctx: inngest.ContextSync) -> None:
        record(
            "failure",
            function_id=ctx.event.data.get("function_id"),
            run_id=ctx.event.data.get("run_id"),
            error=ctx.event.data.get("error"),
            original=(ctx.event.data.get("event") or {}).get("data"),
        )

    @client.create_function(fn_id="fails", trigger=ev("fails"), retries=0, on_failure=on_failure)
    def fails(ctx: inngest.ContextSync) -> None:
        raise RuntimeError("function failed on purpose")

    @client.create_function(fn_id="ask", trigger=ev("ask"))
    def ask(ctx: inngest.ContextSync) -> Any:
        body = {"messages": [{"role": "user", "content": ctx.event.data["q"]}], "max_tokens": 10}
        return ctx.step.ai.infer("ask-model", adapter=adapter(), body=body)

    @client.create_function(fn_id="cancellable", trigger=ev("cancellable"), cancel=[cancel_on()])
    def cancellable(ctx: inngest.ContextSync) -> str:
        def started() -> str:
            record("cancellable", id=ctx.event.data["id"])
            return "started"

        ctx.step.run("started", started)
        ctx.step.sleep("long-nap", datetime.timedelta(seconds=60))
        return "not cancelled"

    @client.create_function(fn_id="debounced", trigger=ev("debounced"), debounce=debounce())
    def debounced(ctx: inngest.ContextSync) -> int:
        record("debounced", debounce_key=ctx.event.data["key"], n=ctx.event.data["n"])
        return int(ctx.event.data["n"])

    return [
        steps, sleepy, waiter, child, invoker, parallel, flaky, no_retry, step_error, fails, ask,
        cancellable, debounced,
    ]


def main() -> None:
    if FLAVOUR == "fastapi":
        import fastapi
        import inngest.fast_api
        import uvicorn

        app = fastapi.FastAPI()
        inngest.fast_api.serve(app, client, build_async())
        uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
    elif FLAVOUR == "flask":
        import flask
        import inngest.flask

        flask_app = flask.Flask(__name__)
        inngest.flask.serve(flask_app, client, build_sync())
        flask_app.run(host="127.0.0.1", port=PORT, threaded=True)
    else:
        raise SystemExit(f"usage: py_app.py fastapi|flask PORT (got {FLAVOUR!r})")


if __name__ == "__main__":
    main()
