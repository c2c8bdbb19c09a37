"""The step API handlers call (`ctx.step`, `ctx.group`), driven by the replay state in `engine`.

A handler re-runs from the top at every step. Memoized steps return their stored output; the one
step the engine targets is executed; any other new step is reported with an `Interrupt` (a
BaseException, so a user's `except Exception` cannot swallow it).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import enum
import functools
import hashlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import const, errors

if TYPE_CHECKING:
    from . import function as function_lib
    from . import models

T = TypeVar("T")

_in_parallel: contextvars.ContextVar[ParallelMode | None] = contextvars.ContextVar(
    "inngest_in_parallel", default=None
)
# The ReplayState whose step function runs in this context (see ReplayState.in_step).
_in_step: contextvars.ContextVar[Any] = contextvars.ContextVar("inngest_in_step", default=None)


class ParallelMode(enum.Enum):
    """How `group.parallel` schedules its branches (Inngest's WAIT and RACE)."""

    RACE = "race"
    WAIT = "wait"


@functools.lru_cache(maxsize=4096)
def hash_step_id(step_id: str) -> str:
    """Inngest's memo key of a step: sha1 of its (suffixed) id (cached: every replay asks again)."""
    return hashlib.sha1(step_id.encode("utf-8")).hexdigest()


MAX_STEP_OUTPUT_BYTES = 4 * 1024 * 1024  # Inngest's limit per step output


def normalize(value: Any, what: str = "step output", *, max_bytes: int | None = None) -> Any:
    """A value as every later replay will see it: JSON, keys as strings and sorted (as Inngest
    stores it), tuples as lists. NaN and infinities are refused: JSON has none (they came back
    as null)."""
    try:
        text = _sorted_json(value)
    except (TypeError, ValueError) as err:
        raise errors.NonRetriableError(
            f"{what} is not JSON serializable: {type(value).__name__} ({err})"
        ) from err
    if max_bytes is not None and len(text) > max_bytes:
        raise errors.NonRetriableError(
            f"{what} is {len(text)} bytes of JSON, over the limit of {max_bytes} bytes per step"
        )
    return json.loads(text)


def _sorted_json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except TypeError:  # keys of mixed types ({1: .., "a": ..}) cannot be sorted before they are strings
        text = json.dumps(value, allow_nan=False)  # raises if the value is not JSON at all
        return json.dumps(json.loads(text), sort_keys=True)


def duration_seconds(value: int | float | datetime.timedelta, *, what: str) -> float:
    """Inngest durations: int milliseconds or a timedelta."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0
    raise TypeError(f"{what} must be milliseconds (int) or a datetime.timedelta, got {value!r}")


class Planned:
    """A new step the handler reached: reported to the driver, not run."""

    __slots__ = ("hashed", "id", "kind", "name", "opts", "parallel_mode")

    def __init__(
        self, kind: str, step_id: str, name: str, opts: dict[str, Any], hashed: str | None = None
    ) -> None:
        self.kind = kind  # run | sleep | wait_for_event | invoke
        self.id = step_id  # with the repeat suffix: "wait", "wait:1", ...
        self.hashed = hash_step_id(step_id) if hashed is None else hashed
        self.name = name  # the id the user wrote
        self.opts = opts
        self.parallel_mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "hashed": self.hashed,
            "name": self.name,
            "opts": self.opts,
            "parallel_mode": self.parallel_mode,
        }


class StepInterrupt(errors.Interrupt):
    """New steps were reached: stop the handler and report them."""

    def __init__(self, planned: list[Planned]) -> None:
        super().__init__()
        self.planned = planned


class StopInterrupt(errors.Interrupt):
    """The targeted step failed and will be retried: stop the handler now."""


class ReplayState:
    """Everything one replay of a handler knows and records."""

    def __init__(
        self,
        memo: dict[str, Any],
        target: str | None,
        *,
        final_attempt: bool,
        send_events: Callable[[list[dict[str, Any]]], Awaitable[list[str]]] | None,
    ) -> None:
        self.memo = memo
        self.target = target
        self.final_attempt = final_attempt
        self.send_events = send_events
        self._counts: dict[str, int] = {}
        self.memo_hits = 0
        self.target_ran = False
        self.target_output: dict[str, Any] | None = None
        self.target_failure: BaseException | None = None
        self.target_running: asyncio.Event | None = None  # set once the targeted step.run ends

    def next_id(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise errors.StepIdError(f"step id must be a non-empty string, got {name!r}")
        n = self._counts.get(name, 0)
        self._counts[name] = n + 1
        return name if n == 0 else f"{name}:{n}"

    @property
    def replaying(self) -> bool:
        """True while the handler goes through code that ran before: memoized steps, and the
        way to the step this call is for (discovery reached it already)."""
        if self.memo_hits < len(self.memo):
            return True
        return self.target is not None and not self.target_ran and not self.in_step

    @property
    def in_step(self) -> bool:
        """A step's function of this state is running in this context (asyncio task or thread):
        a context variable, so steps awaited together (asyncio.gather) are not taken as nested."""
        return _in_step.get() is self

    @in_step.setter
    def in_step(self, value: bool) -> None:
        _in_step.set(self if value else None)

    def check_not_nested(self, step_id: str) -> None:
        if self.in_step:
            raise errors.NonRetriableError(
                f"step {step_id!r} was called inside another step's function; nested steps are "
                "not supported: call it from the handler instead"
            )

    def lookup(self, hashed: str) -> tuple[bool, Any]:
        if hashed in self.memo:
            self.memo_hits += 1
            return True, self.memo[hashed]
        return False, None

    def report(self, planned: Planned) -> StepInterrupt:
        mode = _in_parallel.get()
        if mode is not None:
            planned.parallel_mode = mode.value
        return StepInterrupt([planned])


def _unwrap(value: Any) -> Any:
    """Memo shapes: {"data": x} -> x; {"error": e} -> raise StepError; anything else as is."""
    if isinstance(value, dict) and len(value) == 1:
        if "error" in value and isinstance(value["error"], dict):
            e = value["error"]
            raise errors.StepError(
                str(e.get("message", "")), str(e.get("name", "Error")), e.get("stack")
            )
        if "data" in value:
            return value["data"]
    return value


class _StepBase:
    def __init__(self, state: ReplayState, app_id: str) -> None:
        self._state = state
        self._app_id = app_id

    # -- the parts shared by async and sync steps -------------------------------------------
    def _memo_or_report(self, kind: str, step_id: str, opts: dict[str, Any]) -> Any:
        st = self._state
        st.check_not_nested(step_id)
        full_id = st.next_id(step_id)
        hashed = hash_step_id(full_id)
        found, value = st.lookup(hashed)
        if found:
            return value
        raise st.report(Planned(kind, full_id, step_id, opts, hashed))

    def _run_prelude(self, step_id: str) -> tuple[Planned | None, bool, Any]:
        """-> (planned (None when memoized), memoized?, memo value). Raises the interrupt for a
        step not to run now. A memoized step costs no Planned: every replay goes through them all."""
        st = self._state
        st.check_not_nested(step_id)
        full_id = st.next_id(step_id)
        hashed = hash_step_id(full_id)
        found, value = st.lookup(hashed)
        if found:
            return None, True, value
        planned = Planned("run", full_id, step_id, {}, hashed)
        if hashed == st.target and not st.target_ran:
            return planned, False, None
        raise st.report(planned)

    def _run_failed(self, planned: Planned, err: Exception) -> None:
        """The targeted step raised: memoize a final failure, or stop for a retry."""
        st = self._state
        st.target_ran = True
        if isinstance(err, errors.NonRetriableError) or not st.final_attempt:
            st.target_failure = err
            raise StopInterrupt() from err
        output = {"error": errors.error_dict(err)}
        st.memo[planned.hashed] = output
        st.memo_hits += 1
        st.target_output = output
        raise errors.StepError(output["error"]["message"], output["error"]["name"], output["error"]["stack"])

    def _run_succeeded(self, planned: Planned, result: Any) -> Any:
        st = self._state
        st.target_ran = True
        try:
            value = normalize(
                result, f"output of step {planned.id!r}", max_bytes=MAX_STEP_OUTPUT_BYTES
            )
        except errors.NonRetriableError as err:
            st.target_failure = err
            raise StopInterrupt() from err
        output = {"data": value}
        st.memo[planned.hashed] = output
        st.memo_hits += 1
        st.target_output = output
        return value

    @staticmethod
    def _sleep_opts(duration: int | datetime.timedelta) -> dict[str, Any]:
        return {"seconds": duration_seconds(duration, what="sleep duration")}

    @staticmethod
    def _sleep_until_opts(until: datetime.datetime) -> dict[str, Any]:
        if not isinstance(until, datetime.datetime):
            raise TypeError(f"sleep_until needs a datetime.datetime, got {until!r}")
        if until.tzinfo is None:
            until = until.astimezone()
        return {"until": until.astimezone(datetime.timezone.utc).isoformat()}

    @staticmethod
    def _wait_opts(
        event: str, if_exp: str | None, timeout: int | datetime.timedelta
    ) -> dict[str, Any]:
        if not isinstance(event, str) or not event:
            raise ValueError(f"wait_for_event: event must be a non-empty event name, got {event!r}")
        return {
            "event": event,
            "if_exp": if_exp,
            "timeout_seconds": duration_seconds(timeout, what="wait_for_event timeout"),
        }

    def _invoke_opts(
        self,
        function_id: str,
        data: Any,
        timeout: int | datetime.timedelta | None,
        v: str | None,
    ) -> dict[str, Any]:
        return {
            "function_id": function_id,
            "data": normalize(data if data is not None else {}, "invoke data"),
            "timeout_seconds": None
            if timeout is None
            else duration_seconds(timeout, what="invoke timeout"),
            "v": v,
        }


class Step(_StepBase):
    """`ctx.step` for async handlers."""

    async def run(
        self,
        step_id: str,
        handler: Callable[..., Awaitable[T]] | Callable[..., T],
        *handler_args: Any,
        output_type: object = const.EmptySentinel,
    ) -> T:
        st = self._state
        try:
            planned, found, value = self._run_prelude(step_id)
        except StepInterrupt:
            await self._after_target()
            raise
        if found:
            return _unwrap(value)  # type: ignore[no-any-return]
        assert planned is not None
        st.target_running = asyncio.Event()
        st.in_step = True
        try:
            if inspect.iscoroutinefunction(handler):
                result = await handler(*handler_args)
            else:
                # A plain function may block (requests, time.sleep): keep the event loop free.
                result = await asyncio.to_thread(handler, *handler_args)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as err:  # the user's step failed
            st.in_step = False
            self._run_failed(planned, err)
        finally:
            st.in_step = False
            st.target_running.set()
        return self._run_succeeded(planned, result)  # type: ignore[no-any-return]

    async def _memo_or_report_async(self, kind: str, step_id: str, opts: dict[str, Any]) -> Any:
        try:
            return self._memo_or_report(kind, step_id, opts)
        except StepInterrupt:
            await self._after_target()
            raise

    async def _after_target(self) -> None:
        """Steps awaited together (asyncio.gather): the targeted step.run, running in another
        task, finishes before this call stops the handler, or its output would be lost."""
        running = self._state.target_running
        if running is not None:
            await running.wait()

    async def sleep(self, step_id: str, duration: int | datetime.timedelta) -> None:
        await self._memo_or_report_async("sleep", step_id, self._sleep_opts(duration))

    async def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        await self._memo_or_report_async("sleep", step_id, self._sleep_until_opts(until))

    async def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        if_exp: str | None = None,
        timeout: int | datetime.timedelta,
    ) -> models.Event | None:
        from . import models

        value = _unwrap(
            await self._memo_or_report_async("wait_for_event", step_id, self._wait_opts(event, if_exp, timeout))
        )
        return None if value is None else models.Event.model_validate(value)

    async def invoke(
        self,
        step_id: str,
        *,
        function: function_lib.Function[T],
        data: Any = None,
        timeout: int | datetime.timedelta | None = None,
        v: str | None = None,
    ) -> T:
        opts = self._invoke_opts(function.id, data, timeout, v)
        return _unwrap(await self._memo_or_report_async("invoke", step_id, opts))  # type: ignore[no-any-return]

    async def invoke_by_id(
        self,
        step_id: str,
        *,
        app_id: str | None = None,
        function_id: str,
        data: Any = None,
        timeout: int | datetime.timedelta | None = None,
        v: str | None = None,
    ) -> Any:
        opts = self._invoke_opts(f"{app_id or self._app_id}-{function_id}", data, timeout, v)
        return _unwrap(await self._memo_or_report_async("invoke", step_id, opts))

    async def send_event(
        self, step_id: str, events: models.Event | list[models.Event]
    ) -> list[str]:
        batch = _event_dicts(events)
        sender = self._state.send_events

        async def send() -> list[str]:
            if sender is None:
                raise errors.Error("send_event: no event sender is configured in this process")
            return await sender(batch)

        return await self.run(step_id, send)


class StepSync(_StepBase):
    """`ctx.step` for sync handlers (run in a worker thread)."""

    def __init__(self, state: ReplayState, app_id: str, loop: Any = None) -> None:
        super().__init__(state, app_id)
        self._loop = loop  # the event loop to run async senders on

    def run(
        self,
        step_id: str,
        handler: Callable[..., T],
        *handler_args: Any,
        output_type: object = const.EmptySentinel,
    ) -> T:
        planned, found, value = self._run_prelude(step_id)
        if found:
            return _unwrap(value)  # type: ignore[no-any-return]
        assert planned is not None
        st = self._state
        st.in_step = True
        try:
            result = handler(*handler_args)
        except Exception as err:
            st.in_step = False
            self._run_failed(planned, err)
        finally:
            st.in_step = False
        return self._run_succeeded(planned, result)  # type: ignore[no-any-return]

    def sleep(self, step_id: str, duration: int | datetime.timedelta) -> None:
        self._memo_or_report("sleep", step_id, self._sleep_opts(duration))

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._memo_or_report("sleep", step_id, self._sleep_until_opts(until))

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        if_exp: str | None = None,
        timeout: int | datetime.timedelta,
    ) -> models.Event | None:
        from . import models

        value = _unwrap(
            self._memo_or_report("wait_for_event", step_id, self._wait_opts(event, if_exp, timeout))
        )
        return None if value is None else models.Event.model_validate(value)

    def invoke(
        self,
        step_id: str,
        *,
        function: function_lib.Function[T],
        data: Any = None,
        timeout: int | datetime.timedelta | None = None,
        v: str | None = None,
    ) -> T:
        opts = self._invoke_opts(function.id, data, timeout, v)
        return _unwrap(self._memo_or_report("invoke", step_id, opts))  # type: ignore[no-any-return]

    def invoke_by_id(
        self,
        step_id: str,
        *,
        app_id: str | None = None,
        function_id: str,
        data: Any = None,
        timeout: int | datetime.timedelta | None = None,
        v: str | None = None,
    ) -> Any:
        opts = self._invoke_opts(f"{app_id or self._app_id}-{function_id}", data, timeout, v)
        return _unwrap(self._memo_or_report("invoke", step_id, opts))

    def send_event(self, step_id: str, events: models.Event | list[models.Event]) -> list[str]:
        import asyncio

        batch = _event_dicts(events)
        sender = self._state.send_events
        loop = self._loop

        def send() -> list[str]:
            if sender is None or loop is None:
                raise errors.Error("send_event: no event sender is configured in this process")
            return asyncio.run_coroutine_threadsafe(sender(batch), loop).result()

        return self.run(step_id, send)


def _event_dicts(events: Any) -> list[dict[str, Any]]:
    from . import models

    items = events if isinstance(events, (list, tuple)) else [events]
    out = []
    for e in items:
        if isinstance(e, models.Event):
            out.append(e.to_wire())
        elif isinstance(e, dict):
            out.append(models.Event.model_validate(e).to_wire())
        else:
            raise TypeError(f"send_event takes inngest.Event objects, got {type(e).__name__}")
    return out


class Group:
    """`ctx.group` for async handlers."""

    async def parallel(
        self,
        callables: Sequence[Callable[[], Awaitable[T]]],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        token = _in_parallel.set(parallel_mode)
        try:
            outputs: list[T] = []
            planned: list[Planned] = []
            for cb in callables:
                try:
                    outputs.append(await cb())
                except StepInterrupt as interrupt:
                    planned.extend(interrupt.planned)
            if planned:
                raise StepInterrupt(planned)
            return tuple(outputs)
        finally:
            _in_parallel.reset(token)


class GroupSync:
    """`ctx.group` for sync handlers."""

    def parallel(
        self,
        callables: Sequence[Callable[[], T]],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        token = _in_parallel.set(parallel_mode)
        try:
            outputs: list[T] = []
            planned: list[Planned] = []
            for cb in callables:
                try:
                    outputs.append(cb())
                except StepInterrupt as interrupt:
                    planned.extend(interrupt.planned)
            if planned:
                raise StepInterrupt(planned)
            return tuple(outputs)
        finally:
            _in_parallel.reset(token)


class ReplayLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """`ctx.logger`: quiet while the handler replays memoized steps (as Inngest's is)."""

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter,  # type: ignore[type-arg]
        state: ReplayState,
        extra: dict[str, Any],
    ) -> None:
        super().__init__(logger, extra)
        self._state = state

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's spelling)
        return not self._state.replaying and self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        """Add fn_id/run_id to the record, keeping the caller's own `extra` (which wins)."""
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            msg, kwargs = self.process(msg, kwargs)
            # attribute the record to the user's code, not to this frame
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            self.logger.log(level, msg, *args, **kwargs)
