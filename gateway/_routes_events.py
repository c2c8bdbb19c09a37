"""`POST /e/{event_key}`: Inngest's event API."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

import fastapi
import temporal_worker
import temporalio.service

from . import _auth, _deps, _errors, _routing, _schemas, _validate

logger = logging.getLogger(__name__)

router = fastapi.APIRouter(tags=["events"])

MAX_LOGGED_IDS: Final = 50

_EVENT_SCHEMA = _schemas.EventIn.model_json_schema()
_REQUEST_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _EVENT_SCHEMA,
                        {
                            "type": "array",
                            "items": _EVENT_SCHEMA,
                            "maxItems": _schemas.MAX_EVENTS_PER_REQUEST,
                        },
                    ]
                }
            }
        },
    }
}
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": _schemas.ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed JSON or an invalid event (`ids` lists the events accepted before it)",
        401: "Production mode: unknown or missing event key",
        413: "Body over GATEWAY_MAX_BODY_BYTES, or more than 5000 events",
        502: "Temporal answered with an error",
        503: "Temporal is unreachable",
    }.items()
}


async def read_body(request: fastapi.Request, limit: int) -> bytes:
    """Read the request body, refusing (without reading it all) anything over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _errors.BadRequestError(
                f"Content-Length header {declared!r} is not an integer", field="Content-Length"
            ) from None
        if size > limit:
            raise _errors.PayloadTooLargeError(_too_large(f"{size} bytes", limit))
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _errors.PayloadTooLargeError(_too_large(f"over {limit} bytes", limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: str, limit: int) -> str:
    return (
        f"request body is {size}; the limit is {limit} bytes (GATEWAY_MAX_BODY_BYTES):"
        " send fewer or smaller events per request"
    )


async def _route(
    sender: _routing.EventSender, events: list[dict[str, Any]], seeded: list[str] | None
) -> list[str]:
    try:
        ids = list(await sender.send(events, ids=seeded))
    except _errors.APIError:
        raise
    except temporal_worker.RoutingError as err:
        cause = err.__cause__
        api = (
            _errors.from_rpc_error(cause, "routing events")
            if isinstance(cause, temporalio.service.RPCError)
            else _errors.RoutingError(str(err))
        )
        api.ids = err.ids  # the events routed before the failure did start their runs
        raise api from err
    except temporalio.service.RPCError as err:
        raise _errors.from_rpc_error(err, "routing events") from err
    except Exception as err:
        raise _errors.RoutingError(f"routing events failed: {type(err).__name__}: {err}") from err
    if len(ids) != len(events):
        raise _errors.RoutingError(
            f"routing core returned {len(ids)} ids for {len(events)} events"
        )
    return ids


@router.post(
    "/e/{event_key}",
    response_model=_schemas.SendEventsResponse,
    responses=_ERRORS,
    openapi_extra=_REQUEST_BODY,
)
async def send_events(
    event_key: str,
    request: fastapi.Request,
    settings: _deps.SettingsDep,
    sender: _deps.RouterDep,
) -> _schemas.SendEventsResponse:
    """Send one event or an array of events; answers their internal ids, in order."""
    started = time.perf_counter()
    events: list[dict[str, Any]] = []
    accepted: list[str] = []
    try:
        _auth.check_event_key(event_key, settings)
        try:
            raw_events = _validate.parse_body(await read_body(request, settings.max_body_bytes))
            events, invalid = _validate.validate_events(raw_events)
            seed = request.headers.get(_validate.EVENT_ID_SEED_HEADER)
            seeded = _validate.seeded_event_ids(seed, len(events))
            if events:
                accepted = await _route(sender, events, seeded)
            if invalid is not None:
                raise invalid
        except (_errors.BadRequestError, _errors.PayloadTooLargeError) as err:
            err.ids = accepted
            raise
    except _errors.APIError as err:
        _log(started, events, accepted, status=err.status, error=err.message, exc=err)
        raise
    _log(started, events, accepted, status=200)
    return _schemas.SendEventsResponse(ids=accepted)


@router.post("/e", include_in_schema=False)
@router.post("/e/", include_in_schema=False)
async def send_events_without_key(
    request: fastapi.Request,
    settings: _deps.SettingsDep,
    sender: _deps.RouterDep,
) -> _schemas.SendEventsResponse:
    """Send events without an event key (accepted in dev mode only)."""
    return await send_events("", request, settings, sender)


def _log(
    started: float,
    events: list[dict[str, Any]],
    ids: list[str],
    *,
    status: int,
    error: str | None = None,
    exc: BaseException | None = None,
) -> None:
    names = sorted({event["name"] for event in events[: len(ids)]})
    extra: dict[str, Any] = {
        "status": status,
        "event_count": len(ids),
        "event_names": names,
        "event_ids": ids[:MAX_LOGGED_IDS],
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if len(ids) > MAX_LOGGED_IDS:
        extra["event_ids_omitted"] = len(ids) - MAX_LOGGED_IDS
    if error is None:
        logger.info("events accepted", extra=extra)
        return
    extra["error"] = error
    server_side = status >= 500
    logger.log(
        logging.ERROR if server_side else logging.WARNING,
        "events rejected",
        extra=extra,
        exc_info=exc.__cause__ if server_side and exc is not None and exc.__cause__ else None,
    )
