"""Public value types: events, triggers and the flow-control option classes (inngest 0.5.19 shapes)."""

from __future__ import annotations

import datetime
import typing

import pydantic


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)


class Event(_Model):
    """An event. `data` defaults to {} (None becomes {}), `id` to "", `ts` to 0 (filled on send)."""

    data: typing.Mapping[str, object] = pydantic.Field(default_factory=dict)
    id: str = ""
    name: str
    ts: int = 0
    v: str | None = None
    user: typing.Mapping[str, object] | None = None

    @pydantic.field_validator("data", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return {} if value is None else value

    def to_wire(self) -> dict[str, object]:
        """The JSON object the event API takes (empty id and zero ts left out)."""
        out: dict[str, object] = {"name": self.name, "data": dict(self.data)}
        if self.id:
            out["id"] = self.id
        if self.ts:
            out["ts"] = self.ts
        if self.v is not None:
            out["v"] = self.v
        if self.user is not None:
            out["user"] = dict(self.user)
        return out


class TriggerEvent(_Model):
    event: str
    expression: str | None = None


class TriggerCron(_Model):
    cron: str
    jitter: str | None = None


Duration = int | datetime.timedelta


class Batch(_Model):
    max_size: int
    timeout: Duration | None = None
    key: str | None = None
    if_exp: str | None = None


class Cancel(_Model):
    event: str
    if_exp: str | None = None
    timeout: Duration | None = None


class Concurrency(_Model):
    key: str | None = None
    limit: int
    scope: typing.Literal["account", "env", "fn"] | None = None


class Debounce(_Model):
    key: str | None = None
    period: Duration
    timeout: Duration | None = None


class Priority(_Model):
    run: str


class RateLimit(_Model):
    key: str | None = None
    limit: int
    period: Duration


class Throttle(_Model):
    key: str | None = None
    limit: int
    period: Duration
    burst: int | None = 1


class Timeouts(_Model):
    start: Duration | None = None
    finish: Duration | None = None


class Singleton(_Model):
    key: str | None = None
    mode: typing.Literal["skip", "cancel"]


class SendEventsResult(_Model):
    error: str | None = None
    ids: list[str] = pydantic.Field(default_factory=list)
