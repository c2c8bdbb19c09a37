"""Errors the gateway raises on purpose, and the one place that turns them into HTTP answers.

```
GatewayError                       base of every error the gateway raises on purpose
├── StartupError                   the app cannot become ready (Temporal down, no routing core)
└── APIError                       answered as Inngest-shaped JSON {"error": ..., "status": N}
    ├── BadRequestError            400  the request is unusable (bad JSON, wrong shape)
    │   └── InvalidEventError      400  one event of the batch is invalid (index and field)
    ├── UnauthorizedError          401  missing or unknown event key / signing key
    ├── NotFoundError              404  no such resource
    │   └── RunNotFoundError       404  no run with that id
    ├── RunFinishedError           409  cancelling a run that already ended
    ├── PayloadTooLargeError       413  body over GATEWAY_MAX_BODY_BYTES, or too many events
    ├── RoutingError               500  the routing core failed for another reason
    ├── UpstreamError              502  Temporal answered with an unexpected error
    └── ServiceUnavailableError    503  Temporal is unreachable, or the app is not connected yet
```

Every `APIError` carries `status`, `message` and optionally `field` (the offending field, e.g.
`event[1].data`) and `ids` (event ids accepted before the error, on the event route). The response
body is `{"error": message, "status": status}` plus `field` / `ids` when set; FastAPI's own errors
(unknown route, wrong method, bad path parameter) get the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import fastapi
import fastapi.exceptions
import fastapi.responses
import starlette.exceptions
import temporalio.service

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class StartupError(GatewayError):
    """Raised by the app's lifespan when it cannot become ready (see the message for the fix)."""


class APIError(GatewayError):
    """An error answered to the HTTP client as `{"error": message, "status": status}`."""

    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.ids = list(ids) if ids is not None else None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "status": self.status}
        if self.field is not None:
            body["field"] = self.field
        if self.ids is not None:
            body["ids"] = self.ids
        return body


class BadRequestError(APIError):
    """Raised by routes when the request as a whole cannot be used (not JSON, wrong shape)."""

    status = 400


class InvalidEventError(BadRequestError):
    """Raised by event validation for the first invalid event of a batch.

    `index` is the event's position in the request; `field` names it as `event[index].<field>`.
    The event route adds `ids` of the events accepted before it.
    """

    def __init__(self, message: str, *, index: int, field: str) -> None:
        super().__init__(message, field=field)
        self.index = index


class UnauthorizedError(APIError):
    """Raised when the event key or the REST bearer token is missing or not configured."""

    status = 401


class NotFoundError(APIError):
    """Base of the "no such resource" answers."""

    status = 404


class RunNotFoundError(NotFoundError):
    """Raised by the run API when no run has the given id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run not found: {run_id}")
        self.run_id = run_id


class RunFinishedError(APIError):
    """Raised by `DELETE /v1/runs/{run_id}` when the run already ended."""

    status = 409

    def __init__(self, run_id: str, run_status: str) -> None:
        super().__init__(
            f"run {run_id} already finished with status {run_status}; only running runs can be"
            " cancelled"
        )
        self.run_id = run_id
        self.run_status = run_status


class ConflictError(APIError):
    """Raised when a request would take over something another owner holds (an app's id)."""

    status = 409


class PayloadTooLargeError(APIError):
    """Raised by the event route for a body over the size limit or more events than allowed."""

    status = 413


class RoutingError(APIError):
    """Raised by the event route when the routing core fails with a non-Temporal error."""

    status = 500


class UpstreamError(APIError):
    """Raised when Temporal answers a request with an unexpected error."""

    status = 502


class ServiceUnavailableError(APIError):
    """Raised when Temporal is unreachable, or the app has no Temporal client yet."""

    status = 503


_UNAVAILABLE_CODES = frozenset(
    {
        temporalio.service.RPCStatusCode.UNAVAILABLE,
        temporalio.service.RPCStatusCode.DEADLINE_EXCEEDED,
        temporalio.service.RPCStatusCode.CANCELLED,
    }
)


def from_rpc_error(err: temporalio.service.RPCError, doing: str) -> APIError:
    """Map a Temporal RPC error raised while `doing` something to the matching `APIError`."""
    text = f"Temporal error while {doing}: {err.status.name}: {err.message}"
    if err.status in _UNAVAILABLE_CODES:
        return ServiceUnavailableError(text)
    return UpstreamError(text)


def _json(status: int, body: dict[str, Any]) -> fastapi.responses.JSONResponse:
    return fastapi.responses.JSONResponse(status_code=status, content=body)


async def _handle_api_error(request: fastapi.Request, exc: Exception) -> fastapi.Response:
    assert isinstance(exc, APIError)
    if exc.status >= 500:
        logger.warning(
            "request failed",
            extra={"path": request.url.path, "status": exc.status, "error": exc.message},
        )
    return _json(exc.status, exc.body())


async def _handle_http_exception(request: fastapi.Request, exc: Exception) -> fastapi.Response:
    assert isinstance(exc, starlette.exceptions.HTTPException)
    if exc.status_code == 404:
        message = f"no route for {request.method} {request.url.path}"
    else:
        message = str(exc.detail)
    return _json(exc.status_code, {"error": message, "status": exc.status_code})


async def _handle_validation_error(request: fastapi.Request, exc: Exception) -> fastapi.Response:
    assert isinstance(exc, fastapi.exceptions.RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = ".".join(str(part) for part in first.get("loc", ()))
    message = f"{field}: {first.get('msg', 'invalid value')}" if field else "invalid request"
    body: dict[str, Any] = {"error": message, "status": 400}
    if field:
        body["field"] = field
    return _json(400, body)


async def _handle_unexpected(request: fastapi.Request, exc: Exception) -> fastapi.Response:
    # Starlette still logs nothing for a handled exception: the traceback goes to our log here.
    logger.error(
        "request failed unexpectedly",
        extra={"path": request.url.path, "method": request.method},
        exc_info=exc,
    )
    message = f"internal error while answering {request.method} {request.url.path}: " + (
        f"{type(exc).__name__}: {exc}"[:300]
    )
    return _json(500, {"error": message, "status": 500})


def install_exception_handlers(app: fastapi.FastAPI) -> None:
    """Answer `APIError`, FastAPI's own errors and any unexpected one with Inngest-shaped JSON."""
    app.add_exception_handler(Exception, _handle_unexpected)
    app.add_exception_handler(APIError, _handle_api_error)
    app.add_exception_handler(starlette.exceptions.HTTPException, _handle_http_exception)
    app.add_exception_handler(fastapi.exceptions.RequestValidationError, _handle_validation_error)
