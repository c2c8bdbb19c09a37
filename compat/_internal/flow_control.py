"""Flow-control options of `create_function`: validated, then turned into plain JSON config.

The config travels with the function's spec into Temporal (the registry) and into its runs; the
routing core and the run workflow enforce it. Durations become seconds (`*_s` keys). Rules and limits
follow Inngest (shared reference, sections 0, 1.4-1.15 and 1.20); a violation raises ValueError naming
the option and the rule.
"""

from __future__ import annotations

import datetime
from typing import Any

from . import models

MAX_CONCURRENCY_CONSTRAINTS = 2
MAX_CANCELS = 5
MIN_BATCH_SIZE = 2
MAX_BATCH_SIZE = 100  # Inngest's OSS cap
MAX_BATCH_TIMEOUT_S = 60  # Inngest's OSS cap


def _seconds(value: int | datetime.timedelta | None, *, option: str, fn_id: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, int) and not isinstance(value, bool):
        return value / 1000.0
    raise ValueError(
        f"create_function(fn_id={fn_id!r}): {option} must be milliseconds (int) or a timedelta, "
        f"got {value!r}"
    )


def _check_range(fn_id: str, option: str, seconds: float | None, low: float, high: float) -> None:
    if seconds is not None and not low <= seconds <= high:
        raise ValueError(
            f"create_function(fn_id={fn_id!r}): {option} must be between {low:g}s and {high:g}s, "
            f"got {seconds:g}s"
        )


def _check_whole_seconds(fn_id: str, option: str, seconds: float | None) -> None:
    # The inngest SDK sends durations as whole seconds ("30s") and refuses anything else.
    if seconds is not None and seconds != int(seconds):
        raise ValueError(
            f"create_function(fn_id={fn_id!r}): {option} must be a whole number of seconds, "
            f"got {seconds:g}s"
        )


def _check_key(fn_id: str, option: str, key: str | None) -> None:
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ValueError(
            f"create_function(fn_id={fn_id!r}): {option} must be a non-empty expression over "
            f"`event` (or None), got {key!r}"
        )


def to_config(fn_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """The JSON config of the options that are set (unset ones are left out)."""
    out: dict[str, Any] = {}
    concurrency = options.get("concurrency")
    if concurrency:
        if len(concurrency) > MAX_CONCURRENCY_CONSTRAINTS:
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): concurrency takes at most "
                f"{MAX_CONCURRENCY_CONSTRAINTS} constraints, got {len(concurrency)}"
            )
        items = []
        for c in concurrency:
            if not isinstance(c, models.Concurrency):
                raise TypeError(f"create_function(fn_id={fn_id!r}): concurrency items must be inngest.Concurrency")
            if c.limit < 0:
                raise ValueError(f"create_function(fn_id={fn_id!r}): concurrency limit must be >= 0, got {c.limit}")
            scope = c.scope or "fn"
            if scope in ("env", "account") and not c.key:
                raise ValueError(
                    f"create_function(fn_id={fn_id!r}): concurrency scope {scope!r} needs a key"
                )
            items.append({"limit": c.limit, "key": c.key, "scope": scope})
        out["concurrency"] = items
    throttle = options.get("throttle")
    if throttle is not None:
        period = _seconds(throttle.period, option="throttle period", fn_id=fn_id)
        _check_range(fn_id, "throttle period", period, 1, 7 * 86400)
        if throttle.limit < 1:
            raise ValueError(f"create_function(fn_id={fn_id!r}): throttle limit must be >= 1, got {throttle.limit}")
        out["throttle"] = {
            "limit": throttle.limit,
            "period_s": period,
            "burst": 1 if throttle.burst is None else throttle.burst,
            "key": throttle.key,
        }
    rate_limit = options.get("rate_limit")
    if rate_limit is not None:
        period = _seconds(rate_limit.period, option="rate_limit period", fn_id=fn_id)
        _check_range(fn_id, "rate_limit period", period, 1, 86400)
        _check_whole_seconds(fn_id, "rate_limit period", period)
        if rate_limit.limit < 1:
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): rate_limit limit must be >= 1, got {rate_limit.limit}"
            )
        _check_key(fn_id, "rate_limit key", rate_limit.key)
        out["rate_limit"] = {"limit": rate_limit.limit, "period_s": period, "key": rate_limit.key}
    idempotency = options.get("idempotency")
    if idempotency is not None:
        if not isinstance(idempotency, str) or not idempotency.strip():
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): idempotency must be a non-empty key expression "
                f"such as 'event.data.cart_id', got {idempotency!r}"
            )
        # Inngest implements it as a rate limit of 1 per 24 h per key, replacing any rate_limit.
        out["rate_limit"] = {"limit": 1, "period_s": 86400.0, "key": idempotency}
        out["idempotency"] = idempotency
    debounce = options.get("debounce")
    if debounce is not None:
        period = _seconds(debounce.period, option="debounce period", fn_id=fn_id)
        _check_range(fn_id, "debounce period", period, 1, 7 * 86400)
        _check_whole_seconds(fn_id, "debounce period", period)
        timeout = _seconds(debounce.timeout, option="debounce timeout", fn_id=fn_id)
        _check_range(fn_id, "debounce timeout", timeout, 1, 7 * 86400)
        _check_whole_seconds(fn_id, "debounce timeout", timeout)
        _check_key(fn_id, "debounce key", debounce.key)
        out["debounce"] = {"period_s": period, "key": debounce.key, "timeout_s": timeout}
    batch = options.get("batch_events")
    if batch is not None:
        if not MIN_BATCH_SIZE <= batch.max_size <= MAX_BATCH_SIZE:
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): batch_events max_size must be between "
                f"{MIN_BATCH_SIZE} and {MAX_BATCH_SIZE}, got {batch.max_size}"
            )
        if batch.timeout is None:
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): batch_events needs a timeout (how long a batch "
                f"waits for more events), between 1s and {MAX_BATCH_TIMEOUT_S}s"
            )
        timeout = _seconds(batch.timeout, option="batch_events timeout", fn_id=fn_id)
        _check_range(fn_id, "batch_events timeout", timeout, 1, MAX_BATCH_TIMEOUT_S)
        _check_whole_seconds(fn_id, "batch_events timeout", timeout)
        _check_key(fn_id, "batch_events key", batch.key)
        _check_key(fn_id, "batch_events if_exp", batch.if_exp)
        out["batch_events"] = {
            "max_size": batch.max_size,
            "timeout_s": timeout,
            "key": batch.key,
            "if_exp": batch.if_exp,
        }
    priority = options.get("priority")
    if priority is not None:
        out["priority"] = {"run": priority.run}
    singleton = options.get("singleton")
    if singleton is not None:
        if singleton.mode not in ("skip", "cancel"):
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): singleton mode must be 'skip' or 'cancel', "
                f"got {singleton.mode!r}"
            )
        _check_key(fn_id, "singleton key", singleton.key)
        out["singleton"] = {"key": singleton.key, "mode": singleton.mode}
    cancel = options.get("cancel")
    if cancel:
        if len(cancel) > MAX_CANCELS:
            raise ValueError(f"create_function(fn_id={fn_id!r}): at most {MAX_CANCELS} cancel options")
        items = []
        for c in cancel:
            if not c.event or not c.event.strip():
                raise ValueError(
                    f"create_function(fn_id={fn_id!r}): cancel event must be an event name, got {c.event!r}"
                )
            timeout = _seconds(c.timeout, option="cancel timeout", fn_id=fn_id)
            _check_range(fn_id, "cancel timeout", timeout, 1, 366 * 86400)
            items.append({"event": c.event, "if_exp": c.if_exp, "timeout_s": timeout})
        out["cancel"] = items
    timeouts = options.get("timeouts")
    if timeouts is not None:
        start = _seconds(timeouts.start, option="timeouts start", fn_id=fn_id)
        finish = _seconds(timeouts.finish, option="timeouts finish", fn_id=fn_id)
        _check_range(fn_id, "timeouts start", start, 1, 366 * 86400)
        _check_range(fn_id, "timeouts finish", finish, 1, 366 * 86400)
        out["timeouts"] = {"start_s": start, "finish_s": finish}
    _check_combinations(fn_id, out)
    return out


def _check_combinations(fn_id: str, config: dict[str, Any]) -> None:
    """Inngest's compatibility matrix (reference 1.20)."""
    if "batch_events" in config:
        for other in ("debounce", "rate_limit", "idempotency", "priority", "singleton", "cancel"):
            if other in config:
                raise ValueError(
                    f"create_function(fn_id={fn_id!r}): batch_events cannot be combined with {other} "
                    "(Inngest refuses this combination)"
                )
