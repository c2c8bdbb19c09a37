"""FastAPI dependencies, as `Annotated` aliases the routes declare their parameters with.

They are `async def` although they do not await: FastAPI runs a plain `def` dependency in a worker
thread, a thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

import fastapi
import fastapi.security
import temporalio.client

from . import _auth, _errors, _routing, _settings


async def get_app_settings(request: fastapi.Request) -> _settings.Settings:
    """The settings the app was created with."""
    settings: _settings.Settings = request.app.state.settings
    return settings


async def get_temporal_client(request: fastapi.Request) -> temporalio.client.Client:
    """The app's one Temporal client, connected by the lifespan."""
    client: temporalio.client.Client | None = getattr(request.app.state, "temporal", None)
    if client is None:
        raise _errors.ServiceUnavailableError(
            "the gateway is not connected to Temporal (the app's lifespan has not run)"
        )
    return client


async def get_event_router(request: fastapi.Request) -> _routing.EventSender:
    """The routing core: injected into `create_app`, or built by the lifespan."""
    router: _routing.EventSender | None = getattr(request.app.state, "router", None)
    if router is None:
        raise _errors.ServiceUnavailableError(
            "the gateway has no event router yet (the app's lifespan has not run)"
        )
    return router


SettingsDep = Annotated[_settings.Settings, fastapi.Depends(get_app_settings)]
TemporalDep = Annotated[temporalio.client.Client, fastapi.Depends(get_temporal_client)]
RouterDep = Annotated[_routing.EventSender, fastapi.Depends(get_event_router)]

_bearer = fastapi.security.HTTPBearer(
    auto_error=False,
    description="A signing key (raw, or hashed as Inngest SDKs send it). Required in production.",
)


async def require_signing_key(
    settings: SettingsDep,
    credentials: Annotated[
        fastapi.security.HTTPAuthorizationCredentials | None, fastapi.Depends(_bearer)
    ],
) -> None:
    """In production mode, reject requests without a known signing key as bearer token."""
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    _auth.check_bearer(header, settings)


SigningKeyDep = fastapi.Depends(require_signing_key)
