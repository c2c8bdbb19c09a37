"""The FastAPI app factory and its lifespan, which owns the one Temporal client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Final

import fastapi
import temporalio.client

from . import (
    _errors,
    _routes_events,
    _routes_health,
    _routes_runs,
    _routes_sdk,
    _routing,
    _settings,
)

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY: Final = 0.25
MAX_RETRY_DELAY: Final = 4.0

_DESCRIPTION: Final = """\
Inngest's wire API on top of Temporal.

- `POST /e/{event_key}` accepts events, as Inngest's event API does.
- `/v1/...` answers Inngest's REST API for runs from Temporal.
- `GET /health` reports whether Temporal answers.
- `POST /fn/register` syncs a stock Inngest SDK app (its functions run on the bridge worker);
  `POST /fn/sync` asks the app at a URL to sync.

Errors are `{"error": "...", "status": N}`, plus the offending `field` and, on the event API,
the `ids` of events accepted before an invalid one.
"""


async def connect_temporal(settings: _settings.Settings) -> temporalio.client.Client:
    """Connect to Temporal, retrying with backoff for `temporal_connect_timeout_seconds`."""
    address = settings.temporal_address
    namespace = settings.temporal_namespace
    deadline = time.monotonic() + settings.temporal_connect_timeout_seconds
    delay = FIRST_RETRY_DELAY
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        try:
            client = await asyncio.wait_for(
                temporalio.client.Client.connect(address, namespace=namespace),
                timeout=max(remaining, 0.1),
            )
        except Exception as err:  # connection errors come as RuntimeError, TimeoutError, ...
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _errors.StartupError(
                    f"could not connect to Temporal at {address} (namespace {namespace!r}) within"
                    f" {settings.temporal_connect_timeout_seconds:g} s after {attempt} attempts:"
                    f" {err or type(err).__name__}. Start Temporal (e.g. `temporal server"
                    " start-dev`) or point GATEWAY_TEMPORAL_ADDRESS / TEMPORAL_ADDRESS at it"
                ) from err
            wait = min(delay, remaining)
            logger.warning(
                "Temporal not reachable yet, retrying",
                extra={
                    "temporal_address": address,
                    "attempt": attempt,
                    "retry_in_s": round(wait, 2),
                    "error": str(err) or type(err).__name__,
                },
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, MAX_RETRY_DELAY)
            continue
        logger.info(
            "connected to Temporal",
            extra={"temporal_address": address, "namespace": namespace, "attempt": attempt},
        )
        return client


@contextlib.asynccontextmanager
async def _lifespan(app: fastapi.FastAPI) -> AsyncIterator[None]:
    settings: _settings.Settings = app.state.settings
    logger.info(
        "gateway starting",
        extra={"mode": settings.mode, "temporal_address": settings.temporal_address},
    )
    try:
        client = await connect_temporal(settings)
        built_router = app.state.router is None
        if built_router:
            app.state.router = _routing.build_router(client, settings)
        # SDK app syncs refresh the router's own registry, so their functions route at once.
        app.state.registry = getattr(app.state.router, "registry", None)
    except _errors.StartupError as err:
        logger.error("gateway cannot start: %s", err)
        raise
    app.state.temporal = client
    try:
        yield
    finally:
        app.state.temporal = None
        app.state.registry = None
        if built_router:
            app.state.router = None
        logger.info("gateway stopped")


def create_app(
    settings: _settings.Settings | None = None,
    *,
    router: _routing.EventSender | None = None,
) -> fastapi.FastAPI:
    """Build the gateway app.

    `settings` defaults to `get_settings()` (the environment). `router` replaces the routing core
    built at startup (`temporal_worker.EventRouter`); the lifespan still connects the Temporal
    client the REST API and the health check use.
    """
    app = fastapi.FastAPI(
        title="inngest-temporal gateway",
        description=_DESCRIPTION,
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings if settings is not None else _settings.get_settings()
    app.state.router = router
    app.state.temporal = None
    _errors.install_exception_handlers(app)
    app.include_router(_routes_events.router)
    app.include_router(_routes_runs.router)
    app.include_router(_routes_health.router)
    app.include_router(_routes_sdk.router)
    return app
