"""Find the functions an `--app MODULE[:ATTR]` reference names, and describe them as AppSpecs."""

from __future__ import annotations

import importlib
import re
import zoneinfo
from datetime import timedelta
from typing import Any

import croniter

from compat._internal.client import Inngest
from compat._internal.function import Function
from compat._internal.models import TriggerCron, TriggerEvent

from . import _expressions, _matching, _models


class AppLoadError(ValueError):
    """The --app reference does not name functions we can serve."""


def _with_failure_handlers(functions: list[Function[Any]]) -> list[Function[Any]]:
    out: dict[str, Function[Any]] = {}
    for fn in functions:
        out.setdefault(fn.id, fn)
        if fn.on_failure_function is not None:
            out.setdefault(fn.on_failure_function.id, fn.on_failure_function)
    return list(out.values())


def load_functions(app_ref: str) -> list[Function[Any]]:
    """`module` -> every Function defined in it; `module:attr` -> a list of Functions or a client."""
    module_name, _, attr = app_ref.partition(":")
    if not module_name:
        raise AppLoadError(f"--app {app_ref!r}: expected MODULE or MODULE:ATTR, e.g. examples.shop")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AppLoadError(f"--app {app_ref!r}: cannot import module {module_name!r}: {err}") from err
    if attr:
        try:
            target = getattr(module, attr)
        except AttributeError:
            raise AppLoadError(f"--app {app_ref!r}: module {module_name!r} has no {attr!r}") from None
        if isinstance(target, Inngest):
            functions = target.functions
        elif isinstance(target, Function):
            functions = [target]
        elif isinstance(target, (list, tuple)) and all(isinstance(f, Function) for f in target):
            functions = list(target)
        else:
            raise AppLoadError(
                f"--app {app_ref!r}: {attr!r} is a {type(target).__name__}; expected a list of "
                "functions or an inngest.Inngest client"
            )
    else:
        functions = [v for v in vars(module).values() if isinstance(v, Function)]
    if not functions:
        raise AppLoadError(f"--app {app_ref!r}: no functions found (create them with client.create_function)")
    return _with_failure_handlers(functions)


_JITTER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_jitter(value: str | None) -> float | None:
    """Inngest jitter strings ("30s", "2m") -> seconds; Inngest allows 1 s to 5 min."""
    if value is None:
        return None
    m = _JITTER.match(value)
    if not m:
        raise AppLoadError(f"TriggerCron jitter {value!r} is not a duration like '30s' or '2m'")
    seconds = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not 1 <= seconds <= 300:
        raise AppLoadError(f"TriggerCron jitter {value!r} must be between 1s and 5m")
    return seconds


def app_specs(functions: list[Function[Any]]) -> list[_models.AppSpec]:
    """Group functions by app id into the specs the registry stores."""
    apps: dict[str, _models.AppSpec] = {}
    seen: set[str] = set()
    for fn in functions:
        if fn.id in seen:  # two clients of one app id, each with this fn_id
            raise AppLoadError(
                f"function {fn.id!r} is defined twice (app {fn.app_id!r}, fn_id {fn.local_id!r}): "
                "each function of an app needs its own fn_id"
            )
        seen.add(fn.id)
        tq = _models.task_queue_for_app(fn.app_id)
        app = apps.setdefault(fn.app_id, _models.AppSpec(app_id=fn.app_id, task_queue=tq, functions=[]))
        triggers = []
        for t in fn.triggers:
            if isinstance(t, TriggerEvent):
                _check_event_trigger(fn.id, t)
                triggers.append(_models.TriggerSpec(event=t.event, expression=t.expression))
            elif isinstance(t, TriggerCron):
                _check_cron(fn.id, t.cron)
                triggers.append(_models.TriggerSpec(cron=t.cron, jitter_seconds=parse_jitter(t.jitter)))
        _check_flow_expressions(fn.id, fn.flow_control)
        app.functions.append(
            _models.FunctionSpec(
                id=fn.id,
                app_id=fn.app_id,
                name=fn.name,
                task_queue=tq,
                triggers=triggers,
                flow_control=fn.flow_control,
            )
        )
    return list(apps.values())


def _check_event_trigger(fn_id: str, trigger: TriggerEvent) -> None:
    """Refuse a trigger that could never match, at load time rather than silently at every event."""
    try:
        _matching.validate_trigger_name(trigger.event)
    except ValueError as err:
        raise AppLoadError(f"function {fn_id!r}: trigger event {trigger.event!r}: {err}") from err
    if trigger.expression and trigger.expression.strip():
        try:
            _expressions.compile_expression(trigger.expression, variables=("event",))
        except _expressions.ExpressionError as err:
            raise AppLoadError(f"function {fn_id!r}: trigger {err}") from err


def _check_cron(fn_id: str, cron: str) -> None:
    """Inngest's cron: 5 fields, optionally after `TZ=Area/City ` (checked before any sync)."""
    spec = cron.strip()
    if spec.startswith(("TZ=", "CRON_TZ=")):
        zone, _, spec = spec.partition(" ")
        try:
            zoneinfo.ZoneInfo(zone.split("=", 1)[1])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise AppLoadError(f"function {fn_id!r}: cron {cron!r}: unknown time zone ({err})") from None
    fields = spec.split()
    if len(fields) != 5 or not croniter.croniter.is_valid(spec):
        raise AppLoadError(
            f"function {fn_id!r}: cron {cron!r} is not a 5-field cron expression "
            "(minute hour day-of-month month day-of-week, e.g. '0 12 * * 5' or 'TZ=Europe/Paris 0 12 * * 5')"
        )


def _check_flow_expressions(fn_id: str, flow: dict[str, Any]) -> None:
    """Key, `if` and `run` expressions of flow-control options must compile (checked at load)."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for c in flow.get("concurrency") or []:
        if c.get("key"):
            found.append(("concurrency key", c["key"], ("event",)))
    for option in ("throttle", "rate_limit", "debounce", "batch_events", "singleton"):
        if (flow.get(option) or {}).get("key"):
            # idempotency travels as a rate limit of 1 per 24 h: name it as the user wrote it
            name = "idempotency" if option == "rate_limit" and flow.get("idempotency") else option
            found.append((f"{name} key", flow[option]["key"], ("event",)))
    if (flow.get("batch_events") or {}).get("if_exp"):
        found.append(("batch_events if_exp", flow["batch_events"]["if_exp"], ("event",)))
    if (flow.get("priority") or {}).get("run"):
        found.append(("priority run", flow["priority"]["run"], ("event",)))
    for c in flow.get("cancel") or []:
        if c.get("if_exp"):
            found.append(("cancel if_exp", c["if_exp"], ("event", "async")))
    for what, source, variables in found:
        try:
            _expressions.compile_expression(source, variables=variables)
        except _expressions.ExpressionError as err:
            raise AppLoadError(f"function {fn_id!r}: {what}: {err}") from err


def jitter_delta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
