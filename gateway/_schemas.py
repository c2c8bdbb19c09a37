"""Wire shapes of Inngest's event API and REST API, as pydantic models (named after Inngest's)."""

from __future__ import annotations

import datetime
from typing import Any, Final, Literal

import pydantic
import temporal_worker

MAX_EVENTS_PER_REQUEST: Final = 5000  # Inngest consts.MaxEvents
MAX_EVENT_NAME_LENGTH: Final = temporal_worker.MAX_EVENT_NAME_LENGTH

RunStatus = Literal["Scheduled", "Running", "Completed", "Failed", "Cancelled", "Skipped"]


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class EventIn(_Model):
    """One event as clients send it to `POST /e/{event_key}` (alone or in an array).

    Documentation of the request body; validation is done by hand so that errors name the event
    index and the field, and events before the first invalid one are still accepted.
    """

    model_config = pydantic.ConfigDict(extra="allow")

    name: str = pydantic.Field(
        min_length=1,
        max_length=MAX_EVENT_NAME_LENGTH,
        description="Event name, e.g. `app/user.created`; names starting `inngest/` are reserved.",
    )
    data: dict[str, Any] = pydantic.Field(
        default_factory=dict, description="Payload (a JSON object); `data._inngest` is removed."
    )
    id: str | None = pydantic.Field(
        default=None, description="Producer idempotency key: a repeated id starts no new runs."
    )
    ts: int | None = pydantic.Field(
        default=None,
        description="Unix time in milliseconds (1980..2100); defaults to the time it is received.",
    )
    v: str | None = pydantic.Field(default=None, description="Free-form event version.")
    user: dict[str, Any] | None = pydantic.Field(default=None, description="Deprecated user data.")


class SendEventsResponse(_Model):
    """Answer of `POST /e/{event_key}`: the internal ids (ULIDs) of the events, in order."""

    ids: list[str]
    status: int = 200


class ErrorResponse(_Model):
    """Every error answer: `{"error", "status"}`, plus the offending field and accepted ids."""

    error: str
    status: int
    field: str | None = None
    ids: list[str] | None = None


class RunError(_Model):
    """Output of a failed run."""

    name: str
    message: str
    stack: str


class RunSkip(_Model):
    """Why flow control did not start this run (status "Skipped")."""

    reason: str = pydantic.Field(
        description="rate_limited, idempotent, debounced, batched, singleton_skipped, or "
        "<option>_key_error"
    )
    message: str
    run_id: str | None = pydantic.Field(
        default=None, description="The run the event went into (debounce, batch) or that blocked it."
    )


class Run(_Model):
    """A function run (one Temporal workflow execution; `run_id` is its workflow id)."""

    run_id: str
    run_started_at: datetime.datetime
    function_id: str
    function_version: int = 1
    environment_id: str = "local"
    event_id: str | None
    status: RunStatus
    ended_at: datetime.datetime | None
    output: Any = None
    # Only on runs flow control skipped (status "Skipped"); left out of other runs' JSON.
    skip: RunSkip | None = pydantic.Field(default=None, exclude_if=lambda value: value is None)


class Metadata(_Model):
    fetched_at: datetime.datetime
    cached_until: datetime.datetime | None = None


class RunResponse(_Model):
    """Answer of `GET`/`DELETE /v1/runs/{run_id}`."""

    data: Run
    metadata: Metadata


class RunsResponse(_Model):
    """Answer of `GET /v1/events/{event_id}/runs`."""

    data: list[Run]
    metadata: Metadata


class HealthResponse(_Model):
    """Answer of `GET /health`: 200 when Temporal answers, else 503 with the reason."""

    status: int
    message: str
    temporal: str


def metadata_now() -> Metadata:
    return Metadata(fetched_at=datetime.datetime.now(datetime.timezone.utc))
