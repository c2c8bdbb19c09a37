"""The FastAPI app factory and its lifespan, which owns the one Temporal client."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

import fastapi
import temporal_worker
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
    """Connect to Temporal, retrying for `temporal_connect_timeout_seconds` (one client per app)."""
    try:
        return await temporal_worker.connect(
            target_host=settings.temporal_address,
            namespace=settings.temporal_namespace,
            timeout=settings.temporal_connect_timeout_seconds,
        )
    except RuntimeError as err:
        raise _errors.StartupError(
            f"{err} (the gateway reads GATEWAY_TEMPORAL_ADDRESS, then TEMPORAL_ADDRESS)"
        ) from err


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
