"""Inngest's v1 REST API for runs, answered from Temporal."""

from __future__ import annotations

from typing import Any, Final

import fastapi

from . import _deps, _errors, _runs, _schemas

router = fastapi.APIRouter(prefix="/v1", tags=["runs"], dependencies=[_deps.SigningKeyDep])


def _error_responses(extra: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "Production mode: missing or unknown signing key",
        502: "Temporal answered with an error",
        503: "Temporal is unreachable",
        **(extra or {}),
    }
    return {
        status: {"model": _schemas.ErrorResponse, "description": description}
        for status, description in sorted(descriptions.items())
    }


_GET_ERRORS: Final = _error_responses({404: "No run with this id"})
_DELETE_ERRORS: Final = _error_responses({404: "No run with this id", 409: "The run already ended"})


@router.get(
    "/events/{event_id}/runs",
    response_model=_schemas.RunsResponse,
    responses=_error_responses(),
)
async def list_event_runs(event_id: str, client: _deps.TemporalDep) -> _schemas.RunsResponse:
    """List the runs an event (by internal id) started."""
    runs = await _runs.list_event_runs(client, _checked_id(event_id, "event_id"))
    return _schemas.RunsResponse(data=runs, metadata=_schemas.metadata_now())


@router.get("/runs/{run_id:path}", response_model=_schemas.RunResponse, responses=_GET_ERRORS)
async def get_run(run_id: str, client: _deps.TemporalDep) -> _schemas.RunResponse:
    """Get a run: status, timestamps and output."""
    run = await _runs.get_run(client, _checked_id(run_id, "run_id"))
    return _schemas.RunResponse(data=run, metadata=_schemas.metadata_now())


@router.delete("/runs/{run_id:path}", response_model=_schemas.RunResponse, responses=_DELETE_ERRORS)
async def cancel_run(run_id: str, client: _deps.TemporalDep) -> _schemas.RunResponse:
    """Cancel a running run; answers the run as it is when cancellation is requested."""
    run = await _runs.cancel_run(client, _checked_id(run_id, "run_id"))
    return _schemas.RunResponse(data=run, metadata=_schemas.metadata_now())


def _checked_id(value: str, field: str) -> str:
    """An id from the path, refused with a 400 when no run or event can have it (Temporal
    answered an empty one with INVALID_ARGUMENT, its visibility store a NUL with an SQL error)."""
    if not value:
        raise _errors.BadRequestError(f"{field} must not be empty", field=field)
    bad = next((c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        raise _errors.BadRequestError(
            f"{field} {value!r} holds the control character {bad!r}: no run or event has one",
            field=field,
        )
    return value
