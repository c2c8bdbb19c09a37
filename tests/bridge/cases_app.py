"""A stock `inngest` (PyPI) FastAPI app whose functions each exercise one behaviour of the SDK's contract.

`python cases_app.py fastapi PORT`. The app id comes from BRIDGE_APP_ID and event names are prefixed
with it; BRIDGE_RECORD_DIR receives JSON lines the tests read (what ran, when, what a handler saw).
State a function keeps between the calls of one run lives in this process, keyed by run id.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import threading
import time
import typing
import urllib.parse
from pathlib import Path
from typing import Any

import inngest
import pydantic

FLAVOUR = sys.argv[1] if len(sys.argv) > 1 else "fastapi"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 3941
APP = os.environ.get("BRIDGE_APP_ID", "bridge-cases")
RECORDS = Path(os.environ.get("BRIDGE_RECORD_DIR", "."))
# Characters that need escaping in URLs and JSON, and a character outside the BMP.
ODD = "%$^&*(_+{|:<?☃️/"  # inngest-py's crazy_ids, and a slash (invokee ids have them)

client = inngest.Inngest(app_id=APP)
_lock = threading.Lock()
calls: dict[str, int] = {}  # run id -> calls of its handler so far
flags: set[str] = set()  # "<run id>:<what>" once something happened in a run
together: dict[str, set[str]] = {}  # key -> run ids that reached the rendezvous


def record(key: str, **fields: Any) -> None:
    with _lock, open(RECORDS / f"{APP}-{key}.jsonl", "a") as f:
        f.write(json.dumps(fields) + "\n")


def count_call(run_id: str) -> int:
    with _lock:
        calls[run_id] = calls.get(run_id, 0) + 1
        return calls[run_id]


def first_time(run_id: str, what: str) -> bool:
    with _lock:
        key = f"{run_id}:{what}"
        if key in flags:
            return False
        flags.add(key)
        return True


def ev(name: str) -> inngest.TriggerEvent:
    return inngest.TriggerEvent(event=f"{APP}/{name}")


def value(v: Any) -> Any:
    async def body() -> Any:
        return v

    return body


class MyError(Exception):
    pass


class InvokeeError(Exception):
    pass


class OrderData(pydantic.BaseModel):
    count: int


class OrderEvent(pydantic.BaseModel):
    """A typed event as users model them: validated from ctx.event, dumped back to JSON."""

    name: typing.ClassVar[str] = f"{APP}/typed"
    data: OrderData
    id: str = ""
    ts: int = 0


def build_async() -> list[inngest.Function[Any]]:
    @client.create_function(fn_id=f"odd{ODD}", retries=0, trigger=ev("odd"))
    async def odd(ctx: inngest.Context) -> Any:
        return await ctx.step.run(ODD, value("fine"))

    @client.create_function(fn_id="repeated-step", retries=0, trigger=ev("repeated-step"))
    async def repeated_step(ctx: inngest.Context) -> list[int]:
        out = []
        for i in range(2):

            async def body(i: int = i) -> int:
                record("ran", run_id=ctx.run_id, step="foo", i=i)
                return i

            out.append(await ctx.step.run("foo", body))
        return out

    @client.create_function(fn_id="replace-step-error", retries=0, trigger=ev("replace-step-error"))
    async def replace_step_error(ctx: inngest.Context) -> None:
        async def foo() -> None:
            raise ValueError("foo")

        try:
            await ctx.step.run("foo", foo)
        except inngest.StepError:
            raise MyError("a different error")

    @client.create_function(fn_id="unserializable", retries=0, trigger=ev("unserializable"))
    async def unserializable(ctx: inngest.Context) -> None:
        class Opaque:
            pass

        await ctx.step.run("opaque", value(Opaque()))

    @client.create_function(fn_id="step-when-targeted", retries=0, trigger=ev("step-when-targeted"))
    async def step_when_targeted(ctx: inngest.Context) -> None:
        def stamp(name: str) -> Any:
            async def body() -> None:
                record("ran", run_id=ctx.run_id, step=name)

            return body

        if ctx.step._target_hashed_id is not None:  # calls that target a step
            await ctx.step.run("surprise", stamp("surprise"))
        await ctx.group.parallel(
            (lambda: ctx.step.run("p1", stamp("p1")), lambda: ctx.step.run("p2", stamp("p2")))
        )

    @client.create_function(fn_id="vanishing-step", retries=0, trigger=ev("vanishing-step"))
    async def vanishing_step(ctx: inngest.Context) -> None:
        steps: tuple[Any, ...] = (
            lambda: ctx.step.run("1a", value(None)),
            lambda: ctx.step.run("1b", value(None)),
        )
        if count_call(ctx.run_id) == 1:  # only the first call plans a third step
            steps += (lambda: ctx.step.run("1c", value(None)),)
        await ctx.group.parallel(steps)
        await ctx.step.run("after", value(None))

    @client.create_function(fn_id="invokee-fails", retries=0, trigger=ev("never"))
    async def invokee_fails(ctx: inngest.Context) -> None:
        raise InvokeeError("invokee gave up")

    @client.create_function(fn_id="invoke-fails", retries=0, trigger=ev("invoke-fails"))
    async def invoke_fails(ctx: inngest.Context) -> None:
        try:
            await ctx.step.invoke("invoke", function=invokee_fails)
        except inngest.StepError as err:
            record(
                "invoke-error",
                run_id=ctx.run_id,
                name=err.name,
                message=err.message,
                stack_is_str=isinstance(err.stack, str),
            )
            raise

    @client.create_function(fn_id="invokee-sleeps", retries=0, trigger=ev("never"))
    async def invokee_sleeps(ctx: inngest.Context) -> None:
        await ctx.step.sleep("long", datetime.timedelta(seconds=60))

    @client.create_function(fn_id="invoke-times-out", retries=0, trigger=ev("invoke-times-out"))
    async def invoke_times_out(ctx: inngest.Context) -> None:
        try:
            await ctx.step.invoke(
                "invoke", function=invokee_sleeps, timeout=datetime.timedelta(seconds=1)
            )
        except inngest.StepError as err:
            record("invoke-error", run_id=ctx.run_id, name=err.name, message=err.message)
            raise

    @client.create_function(fn_id="adder", retries=0, trigger=ev("never"))
    async def adder(ctx: inngest.Context) -> dict[str, Any]:
        return {"sum": ctx.event.data["a"] + ctx.event.data["b"], "name": ctx.event.name}

    @client.create_function(fn_id="invoke-by-id", retries=0, trigger=ev("invoke-by-id"))
    async def invoke_by_id(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke_by_id("add", function_id="adder", data={"a": 2, "b": 3})

    @client.create_function(fn_id="two-triggers", retries=0, trigger=[ev("first"), ev("second")])
    async def two_triggers(ctx: inngest.Context) -> str:
        return ctx.event.name

    @client.create_function(fn_id="sender", retries=0, trigger=ev("sender"))
    async def sender(ctx: inngest.Context) -> list[str]:
        async def send() -> list[str]:
            marker = ctx.event.data["marker"]
            return await client.send(inngest.Event(name=f"{APP}/sent", data={"marker": marker}))

        return await ctx.step.run("send", send)

    @client.create_function(fn_id="receiver", retries=0, trigger=ev("sent"))
    async def receiver(ctx: inngest.Context) -> dict[str, Any]:
        return {"got": ctx.event.data["marker"]}

    @client.create_function(fn_id="payload", retries=0, trigger=ev("payload"))
    async def payload(ctx: inngest.Context) -> dict[str, Any]:
        return {
            "event": {
                "id": ctx.event.id,
                "name": ctx.event.name,
                "data": ctx.event.data,
                "ts": ctx.event.ts,
            },
            "events": [e.id for e in ctx.events],
            "attempt": ctx.attempt,
            "run_id": ctx.run_id,
            "step_api": type(ctx.step).__name__,
        }

    @client.create_function(fn_id="sleep-until", retries=0, trigger=ev("sleep-until"))
    async def sleep_until(ctx: inngest.Context) -> None:
        record("sleep-until", run_id=ctx.run_id, phase="before", t=time.time())
        wake = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)
        await ctx.step.sleep_until("zzz", wake)
        record("sleep-until", run_id=ctx.run_id, phase="after", t=time.time())

    @client.create_function(fn_id="retry-after", retries=2, trigger=ev("retry-after"))
    async def retry_after(ctx: inngest.Context) -> str:
        # Raises a RetryAfterError once at each place named in raise_at: "fn-1" (before any step,
        # delay in ms), "step" (in a step, as a timedelta), "fn-2" (after the step, as a datetime).
        delay = float(ctx.event.data["delay_s"])
        raise_at = set(ctx.event.data["raise_at"])
        run = ctx.run_id
        record("retry-after", run_id=run, at="fn-1", t=time.time())
        if "fn-1" in raise_at and first_time(run, "fn-1"):
            raise inngest.RetryAfterError("fn-1", int(delay * 1000), quiet=True)

        async def step_1() -> None:
            record("retry-after", run_id=run, at="step", t=time.time())
            if "step" in raise_at and first_time(run, "step"):
                raise inngest.RetryAfterError("step", datetime.timedelta(seconds=delay), quiet=True)

        await ctx.step.run("step_1", step_1)
        record("retry-after", run_id=run, at="fn-2", t=time.time())
        if "fn-2" in raise_at and first_time(run, "fn-2"):
            until = datetime.datetime.now() + datetime.timedelta(seconds=delay)
            raise inngest.RetryAfterError("fn-2", until, quiet=True)
        return "done"

    @client.create_function(fn_id="fails-after-step", retries=0, trigger=ev("fails-after-step"))
    async def fails_after_step(ctx: inngest.Context) -> None:
        await ctx.step.run("first", value("ok"))
        record("fails-after-step", run_id=ctx.run_id, attempt=ctx.attempt)
        raise ValueError("broken after a step")

    @client.create_function(
        fn_id="singleton-skip",
        retries=0,
        trigger=ev("singleton-skip"),
        singleton=inngest.Singleton(mode="skip"),
    )
    async def singleton_skip(ctx: inngest.Context) -> str:
        record("singleton-skip", run_id=ctx.run_id)
        await ctx.step.sleep("zzz", datetime.timedelta(seconds=2))
        return "slept"

    @client.create_function(
        fn_id="singleton-cancel",
        retries=0,
        trigger=ev("singleton-cancel"),
        singleton=inngest.Singleton(mode="cancel"),
    )
    async def singleton_cancel(ctx: inngest.Context) -> str:
        record("singleton-cancel", run_id=ctx.run_id, n=ctx.event.data["n"])
        await ctx.step.sleep("zzz", datetime.timedelta(seconds=2))
        return "slept"

    @client.create_function(fn_id="rendezvous", retries=0, trigger=ev("rendezvous"))
    def rendezvous(ctx: inngest.ContextSync) -> int:
        # A sync handler in an async app: it blocks until both runs of its key are in here at once.
        key = ctx.event.data["key"]
        with _lock:
            together.setdefault(key, set()).add(ctx.run_id)
        deadline = time.monotonic() + 15
        while len(together[key]) < 2:
            if time.monotonic() > deadline:
                raise inngest.NonRetriableError("the other run never arrived")
            time.sleep(0.05)
        return len(together[key])

    @client.create_function(fn_id="tuple-output", retries=0, trigger=ev("tuple-output"))
    async def tuple_output(ctx: inngest.Context) -> dict[str, Any]:
        out = await ctx.step.run("pair", value((1, 2)))
        return {"out": out, "type": type(out).__name__}

    @client.create_function(
        fn_id="typed", retries=0, trigger=inngest.TriggerEvent(event=OrderEvent.name)
    )
    async def typed(ctx: inngest.Context) -> Any:
        event = OrderEvent.model_validate(ctx.event.model_dump(mode="json"))
        return event.model_dump(mode="json")

    @client.create_function(
        fn_id="batch",
        retries=0,
        trigger=ev("batch"),
        batch_events=inngest.Batch(max_size=8, timeout=datetime.timedelta(seconds=2)),
    )
    async def batch(ctx: inngest.Context) -> dict[str, Any]:
        return {
            "count": len(ctx.events),
            "order": [e.data["i"] for e in ctx.events],
            "sizes": sorted({len(e.data["msg"]) for e in ctx.events}),
            "first": ctx.event.data["i"],
        }

    @client.create_function(fn_id="groups-of-steps", retries=0, trigger=ev("groups-of-steps"))
    async def groups_of_steps(ctx: inngest.Context) -> Any:
        def stamp(name: str) -> Any:
            async def body() -> str:
                record("ran", run_id=ctx.run_id, step=name)
                return name

            return body

        async def two() -> list[str]:
            return [await ctx.step.run(n, stamp(n)) for n in ("1a", "1b")]

        async def three() -> list[str]:
            return [await ctx.step.run(n, stamp(n)) for n in ("2a", "2b", "2c")]

        out = await ctx.group.parallel((two, three, lambda: ctx.step.run("3", stamp("3"))))
        await ctx.step.run("after", stamp("after"))
        return list(out)

    @client.create_function(fn_id="step-args", retries=0, trigger=ev("step-args"))
    async def step_args(ctx: inngest.Context) -> list[Any]:
        async def join(a: int, b: str) -> str:
            return f"{a}{b}"

        def sync_step(x: int) -> int:  # a sync callback in an async function
            return x * 10

        return [await ctx.step.run("join", join, 1, "a"), await ctx.step.run("sync", sync_step, 4)]

    return [
        odd,
        repeated_step,
        replace_step_error,
        unserializable,
        step_when_targeted,
        vanishing_step,
        invokee_fails,
        invoke_fails,
        invokee_sleeps,
        invoke_times_out,
        adder,
        invoke_by_id,
        two_triggers,
        sender,
        receiver,
        payload,
        sleep_until,
        retry_after,
        fails_after_step,
        singleton_skip,
        singleton_cancel,
        rendezvous,
        tuple_output,
        typed,
        batch,
        groups_of_steps,
        step_args,
    ]


def main() -> None:
    if FLAVOUR != "fastapi":
        raise SystemExit(f"usage: cases_app.py fastapi PORT (got {FLAVOUR!r})")
    import fastapi
    import inngest.fast_api
    import uvicorn

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, build_async())
    uvicorn.run(CallSizes(app), host="127.0.0.1", port=PORT, log_level="warning")


class CallSizes:
    """ASGI wrapper recording the size of each call the app gets (the SDK itself is untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            query = urllib.parse.parse_qs(scope["query_string"].decode())
            record(
                "calls",
                fn=query.get("fnId", [""])[0],
                size=int(headers.get(b"content-length", b"-1")),
            )
        await self.app(scope, receive, send)


if __name__ == "__main__":
    main()
