"""`GET /health`: the gateway is up and Temporal answers."""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Final

import fastapi
import fastapi.responses
import temporalio.api.workflowservice.v1
import temporalio.client

from . import _schemas

logger = logging.getLogger(__name__)

router = fastapi.APIRouter(tags=["health"])

HEALTH_TIMEOUT: Final = datetime.timedelta(seconds=2)


async def temporal_problem(client: temporalio.client.Client | None) -> str | None:
    """Why Temporal cannot be used right now, or None when it answers."""
    if client is None:
        return "not connected (the app's lifespan has not run)"
    try:
        await asyncio.wait_for(
            client.workflow_service.get_system_info(
                temporalio.api.workflowservice.v1.GetSystemInfoRequest(), timeout=HEALTH_TIMEOUT
            ),
            timeout=HEALTH_TIMEOUT.total_seconds() + 1,
        )
    except Exception as err:  # any failure is the answer: report it, do not raise
        return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return None


@router.get(
    "/health",
    response_model=_schemas.HealthResponse,
    responses={503: {"model": _schemas.HealthResponse, "description": "Temporal is unreachable"}},
)
async def health(request: fastapi.Request) -> fastapi.Response:
    """Report whether the gateway can reach Temporal."""
    problem = await temporal_problem(getattr(request.app.state, "temporal", None))
    if problem is None:
        body = _schemas.HealthResponse(status=200, message="OK", temporal="ok")
    else:
        logger.warning("health check failed", extra={"temporal": problem})
        body = _schemas.HealthResponse(status=503, message="Temporal unreachable", temporal=problem)
    return fastapi.responses.JSONResponse(status_code=body.status, content=body.model_dump())
