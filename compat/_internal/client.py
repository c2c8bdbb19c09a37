"""`Inngest`: the client users create; `create_function` and `send` / `send_sync`."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from . import const, errors, flow_control, function, models

T = TypeVar("T")
_RETRIES = 5  # attempts on network errors and 5xx, as Inngest's client does


def _env(key: const.EnvKey) -> str | None:
    value = os.environ.get(key.value, "").strip()
    return value or None


def _is_url(value: str | None) -> bool:
    return value is not None and value.startswith(("http://", "https://"))


class Inngest:
    """Client for one app. Events go to the gateway's event API (default http://127.0.0.1:8288)."""

    def __init__(
        self,
        *,
        api_base_url: str | None = None,
        app_id: str,
        app_version: str | None = None,
        env: str | None = None,
        event_api_base_url: str | None = None,
        event_key: str | None = None,
        is_production: bool | None = None,
        logger: logging.Logger | logging.LoggerAdapter | None = None,  # type: ignore[type-arg]
        middleware: list[Any] | None = None,
        request_timeout: int | datetime.timedelta | None = None,
        serializer: Any = None,
        signing_key: str | None = None,
    ) -> None:
        if not isinstance(app_id, str) or not app_id:
            raise ValueError(f"Inngest(app_id=...) must be a non-empty string, got {app_id!r}")
        self.app_id = app_id
        self.app_version = app_version
        self.env = env or _env(const.EnvKey.ENV)
        self.logger = logger or logging.getLogger("inngest")
        if middleware:
            raise errors.UnsupportedOptionError("middleware", f"<client {app_id}>")
        if serializer is not None:
            raise errors.UnsupportedOptionError("serializer", f"<client {app_id}>")
        self.middleware: list[Any] = []
        self._serializer = None  # step outputs are JSON
        self.signing_key = signing_key or _env(const.EnvKey.SIGNING_KEY)
        self.signing_key_fallback = _env(const.EnvKey.SIGNING_KEY_FALLBACK)

        dev_value = _env(const.EnvKey.DEV)
        if is_production is None:
            is_production = dev_value is not None and dev_value.lower() in ("0", "false")
        self.is_production = is_production

        dev_origin = dev_value if _is_url(dev_value) else None
        base = _env(const.EnvKey.BASE_URL) or dev_origin
        self.api_origin = (
            api_base_url or _env(const.EnvKey.API_BASE_URL) or base or const.DEFAULT_ORIGIN
        ).rstrip("/")
        self.event_api_origin = (
            event_api_base_url or _env(const.EnvKey.EVENT_API_BASE_URL) or base or const.DEFAULT_ORIGIN
        ).rstrip("/")
        self._event_key = event_key or _env(const.EnvKey.EVENT_KEY)
        self._functions: list[function.Function[Any]] = []  # every function created with this client

        if request_timeout is None:
            self._timeout = 30.0
        elif isinstance(request_timeout, datetime.timedelta):
            self._timeout = request_timeout.total_seconds()
        else:
            self._timeout = request_timeout / 1000.0

    # -- functions ---------------------------------------------------------------------------
    def create_function(
        self,
        *,
        batch_events: models.Batch | None = None,
        cancel: list[models.Cancel] | None = None,
        concurrency: list[models.Concurrency] | None = None,
        debounce: models.Debounce | None = None,
        fn_id: str,
        idempotency: str | None = None,
        middleware: list[Any] | None = None,
        name: str | None = None,
        on_failure: Callable[..., Any] | None = None,
        output_type: object = const.EmptySentinel,
        priority: models.Priority | None = None,
        rate_limit: models.RateLimit | None = None,
        retries: int | None = None,
        throttle: models.Throttle | None = None,
        timeouts: models.Timeouts | None = None,
        singleton: models.Singleton | None = None,
        trigger: models.TriggerCron | models.TriggerEvent | list[models.TriggerCron | models.TriggerEvent],
    ) -> Callable[[Callable[..., Any]], function.Function[Any]]:
        """Decorator turning a handler `(ctx)` (or 0.4-style `(ctx, step)`) into a Function."""
        if middleware:
            raise errors.UnsupportedOptionError("middleware", fn_id)
        options = {
            "batch_events": batch_events,
            "cancel": cancel,
            "concurrency": concurrency,
            "debounce": debounce,
            "idempotency": idempotency,
            "priority": priority,
            "rate_limit": rate_limit,
            "singleton": singleton,
            "throttle": throttle,
            "timeouts": timeouts,
        }
        function.refuse_unsupported(fn_id, options)
        flow = flow_control.to_config(fn_id, options)
        triggers = trigger if isinstance(trigger, list) else [trigger]
        if not triggers:
            raise ValueError(f"create_function(fn_id={fn_id!r}): trigger must not be empty")
        if len(triggers) > 10:
            raise ValueError(
                f"create_function(fn_id={fn_id!r}): at most 10 triggers are allowed, got {len(triggers)}"
            )
        for t in triggers:
            if not isinstance(t, (models.TriggerEvent, models.TriggerCron)):
                raise TypeError(
                    f"create_function(fn_id={fn_id!r}): trigger must be inngest.TriggerEvent or "
                    f"inngest.TriggerCron, got {type(t).__name__} {t!r}"
                )

        def decorator(handler: Callable[..., Any]) -> function.Function[Any]:
            if any(f.local_id == fn_id for f in self._functions):
                raise ValueError(
                    f"create_function(fn_id={fn_id!r}): app {self.app_id!r} has a function with "
                    "this fn_id already; each function needs its own fn_id"
                )
            if not callable(handler):
                raise TypeError(
                    f"create_function(fn_id={fn_id!r}) decorates a function, got "
                    f"{type(handler).__name__} {handler!r}"
                )
            fn: function.Function[Any] = function.Function(
                app_id=self.app_id,
                fn_id=fn_id,
                name=name,
                handler=handler,
                triggers=triggers,
                retries=retries,
                on_failure=on_failure,
                middleware=middleware,
                output_type=output_type,
                logger=self.logger,
                flow_control=flow,
            )
            self._functions.append(fn)
            return fn

        return decorator

    @property
    def event_key(self) -> str | None:
        return self._event_key

    def set_logger(self, logger: logging.Logger | logging.LoggerAdapter) -> None:  # type: ignore[type-arg]
        """Replace the client's logger (the one every function's `ctx.logger` wraps)."""
        self.logger = logger
        for fn in self._functions:
            fn.set_logger(logger)

    @property
    def functions(self) -> list[function.Function[Any]]:
        """Every function created with this client (what a worker serves for `--app module:client`)."""
        return list(self._functions)

    # -- events ------------------------------------------------------------------------------
    def _event_key_or_raise(self) -> str:
        if self._event_key:
            return self._event_key
        if self.is_production:
            raise errors.Error(
                "no event key: pass Inngest(event_key=...) or set INNGEST_EVENT_KEY "
                "(production mode needs one)"
            )
        return const.DEV_EVENT_KEY

    def _prepare(self, events: models.Event | list[models.Event]) -> tuple[str, bytes, dict[str, str]]:
        items = events if isinstance(events, list) else [events]
        now_ms = int(time.time() * 1000)
        body = []
        for e in items:
            if not isinstance(e, models.Event):
                raise TypeError(f"send takes inngest.Event objects, got {type(e).__name__}")
            wire = e.to_wire()
            wire.setdefault("ts", now_ms)
            body.append(wire)
        try:  # ASCII JSON: a lone surrogate goes as its escape, which the API refuses by its path
            content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as err:
            i = next(i for i, wire in enumerate(body) if not _is_json(wire))
            raise TypeError(f"event[{i}] ({body[i]['name']!r}) cannot be sent as JSON: {err}") from err
        url = f"{self.event_api_origin}/e/{self._event_key_or_raise()}"
        # The gateway derives the events' ids from this seed, as Inngest does: a re-send after a
        # timeout or a 5xx gets the same ids and starts no run twice.
        seed = f"{now_ms},{base64.b64encode(secrets.token_bytes(10)).decode()}"
        headers = {"content-type": "application/json", const.EVENT_ID_SEED_HEADER: seed}
        if self.env:
            headers["x-inngest-env"] = self.env
        return url, content, headers

    @staticmethod
    def _parse(response: httpx.Response) -> list[str]:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        ids = list(payload.get("ids") or []) if isinstance(payload, dict) else []
        error = payload.get("error") if isinstance(payload, dict) else None
        if response.status_code >= 400 or error:
            raise errors.SendEventsError(
                f"sending events failed: HTTP {response.status_code}: {error or response.text[:500]}",
                ids,
            )
        return ids

    async def send(
        self, events: models.Event | list[models.Event], *, skip_middleware: bool = False
    ) -> list[str]:
        """Send one or more events; returns their ids."""
        url, body, headers = self._prepare(events)
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            for attempt in range(_RETRIES):
                try:
                    response = await http.post(url, content=body, headers=headers)
                    if response.status_code < 500 or attempt == _RETRIES - 1:
                        return self._parse(response)
                except httpx.TransportError as err:
                    if attempt == _RETRIES - 1:
                        raise errors.SendEventsError(f"sending events to {url} failed: {err}", []) from err
                await asyncio.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    def send_sync(
        self, events: models.Event | list[models.Event], *, skip_middleware: bool = False
    ) -> list[str]:
        """Send one or more events (blocking); returns their ids."""
        url, body, headers = self._prepare(events)
        with httpx.Client(timeout=self._timeout) as http:
            for attempt in range(_RETRIES):
                try:
                    response = http.post(url, content=body, headers=headers)
                    if response.status_code < 500 or attempt == _RETRIES - 1:
                        return self._parse(response)
                except httpx.TransportError as err:
                    if attempt == _RETRIES - 1:
                        raise errors.SendEventsError(f"sending events to {url} failed: {err}", []) from err
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")


def _is_json(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
