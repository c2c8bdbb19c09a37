"""`Function`: a user handler plus its configuration, as built by `Inngest.create_function`."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import const, errors

if TYPE_CHECKING:
    from . import models

T = TypeVar("T")

DEFAULT_RETRIES = 4  # Inngest: 4 retries, so 5 attempts
MAX_RETRIES = 20  # Inngest clamps larger values

# Flow-control options of create_function's signature; those not in SUPPORTED_OPTIONS yet are
# refused loudly (never a silent no-op).
FLOW_CONTROL_OPTIONS = (
    "batch_events",
    "cancel",
    "concurrency",
    "debounce",
    "idempotency",
    "priority",
    "rate_limit",
    "singleton",
    "throttle",
    "timeouts",
)


def _takes_step_argument(handler: Callable[..., Any]) -> bool:
    """True for 0.4-style handlers `(ctx, step)`; 0.5 handlers take only `(ctx)`."""
    try:
        params = [
            p
            for p in inspect.signature(handler).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


class Function(Generic[T]):
    """An Inngest function. `id` is the composite `<app_id>-<fn_id>` (Temporal workflow type)."""

    def __init__(
        self,
        *,
        app_id: str,
        fn_id: str,
        name: str | None,
        handler: Callable[..., Any],
        triggers: Sequence[models.TriggerEvent | models.TriggerCron],
        retries: int | None = None,
        on_failure: Callable[..., Any] | None = None,
        middleware: Sequence[Any] | None = None,
        output_type: object = const.EmptySentinel,
        is_on_failure: bool = False,
        flow_control: dict[str, Any] | None = None,
        logger: logging.Logger | logging.LoggerAdapter | None = None,  # type: ignore[type-arg]
    ) -> None:
        if not fn_id:
            raise ValueError("create_function: fn_id must be a non-empty string")
        if retries is not None and (
            not isinstance(retries, int) or isinstance(retries, bool) or retries < 0
        ):
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): retries must be an integer >= 0, got {retries!r}"
            )
        self._app_id = app_id
        self._local_id = fn_id
        self._name = name or fn_id
        self._handler = handler
        self._triggers = list(triggers)
        self._retries = DEFAULT_RETRIES if retries is None else min(retries, MAX_RETRIES)
        self._middleware = list(middleware or [])
        self._output_type = output_type
        self._is_on_failure = is_on_failure
        self._flow_control = dict(flow_control or {})
        self._logger = logger
        self._handler_takes_step = _takes_step_argument(handler)
        self._on_failure_fn: Function[Any] | None = None
        if on_failure is not None:
            if inspect.iscoroutinefunction(handler) != inspect.iscoroutinefunction(on_failure):
                kind = "an async" if inspect.iscoroutinefunction(handler) else "a non-async"
                raise ValueError(
                    f"{kind} function cannot have an on_failure handler of the other kind "
                    f"(function {fn_id!r}): make both async or both sync"
                )
            from . import models  # local: models imports nothing from here, keep it that way

            self._on_failure_fn = Function(
                app_id=app_id,
                fn_id=f"{fn_id}-failure",
                name=f"{self._name} (failure)",
                handler=on_failure,
                triggers=[
                    models.TriggerEvent(
                        event="inngest/function.failed",
                        expression=f"event.data.function_id == '{self.id}'",
                    )
                ],
                retries=0,
                is_on_failure=True,
                logger=logger,
            )

    @property
    def id(self) -> str:
        return f"{self._app_id}-{self._local_id}"

    @property
    def local_id(self) -> str:
        return self._local_id

    @property
    def app_id(self) -> str:
        return self._app_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def triggers(self) -> list[models.TriggerEvent | models.TriggerCron]:
        return list(self._triggers)

    @property
    def temporal_options(self) -> dict[str, Any]:
        """Options of compat.temporal_options (e.g. local_steps), empty when none are set."""
        return dict(getattr(self, "_temporal_options", {}))

    def set_temporal_options(self, options: dict[str, Any]) -> None:
        self._temporal_options = dict(options)

    @property
    def flow_control(self) -> dict[str, Any]:
        """Validated flow-control config (JSON; durations in seconds), empty when none is set."""
        return dict(self._flow_control)

    @property
    def retries(self) -> int:
        return self._retries

    @property
    def handler(self) -> Callable[..., Any]:
        return self._handler

    @property
    def handler_takes_step(self) -> bool:
        return self._handler_takes_step

    @property
    def is_handler_async(self) -> bool:
        return inspect.iscoroutinefunction(self._handler)

    @property
    def is_on_failure_handler_async(self) -> bool | None:
        """None without an on_failure handler (as in Inngest's SDK)."""
        if self._on_failure_fn is None:
            return None
        return self._on_failure_fn.is_handler_async

    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter:  # type: ignore[type-arg]
        """The client's logger, which `ctx.logger` wraps."""
        return self._logger if self._logger is not None else logging.getLogger("inngest")

    @property
    def on_failure_fn_id(self) -> str | None:
        return None if self._on_failure_fn is None else self._on_failure_fn.id

    @property
    def on_failure_function(self) -> Function[Any] | None:
        return self._on_failure_fn

    @property
    def is_on_failure(self) -> bool:
        return self._is_on_failure

    def set_logger(self, logger: logging.Logger | logging.LoggerAdapter) -> None:  # type: ignore[type-arg]
        """Called by `Inngest.set_logger` so `ctx.logger` follows the client's logger."""
        self._logger = logger
        if self._on_failure_fn is not None:
            self._on_failure_fn.set_logger(logger)

    def get_id(self) -> str:
        return self.id

    def __repr__(self) -> str:
        return f"<Function {self.id}>"


SUPPORTED_OPTIONS: frozenset[str] = frozenset(
    {"concurrency", "throttle", "priority", "cancel", "timeouts"}
    | {"rate_limit", "idempotency", "debounce", "batch_events", "singleton"}
)


def refuse_unsupported(fn_id: str, options: dict[str, Any]) -> None:
    """Raise UnsupportedOptionError for the first flow-control option set but not supported yet."""
    for option in FLOW_CONTROL_OPTIONS:
        if options.get(option) not in (None, [], ()) and option not in SUPPORTED_OPTIONS:
            raise errors.UnsupportedOptionError(option, fn_id)
