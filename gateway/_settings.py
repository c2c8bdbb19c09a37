"""Gateway settings: environment variables prefixed `GATEWAY_`, read at the edges only."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Final, Literal

import pydantic
import pydantic_settings
import temporal_worker

DEFAULT_MAX_BODY_BYTES: Final = 3 * 1024 * 1024  # Inngest's ingest parse cap (AbsoluteMaxEventSize)
DEFAULT_TEMPORAL_ADDRESS: Final = "127.0.0.1:7233"

_KeyList = Annotated[list[str], pydantic_settings.NoDecode]


class Settings(pydantic_settings.BaseSettings):
    """Everything the gateway reads from its environment.

    Each field is read from `GATEWAY_<FIELD>`; the Temporal address and namespace also fall back to
    Temporal's standard `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE`.
    """

    model_config = pydantic_settings.SettingsConfigDict(
        env_prefix="GATEWAY_",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    mode: Literal["dev", "production"] = "dev"
    """`dev` accepts any event key and leaves the REST API open; `production` enforces both."""

    event_keys: _KeyList = []
    """Event keys accepted by `POST /e/{event_key}` in production (comma-separated)."""

    signing_keys: _KeyList = []
    """Signing keys accepted as `Authorization: Bearer` on the REST API in production."""

    max_body_bytes: pydantic.PositiveInt = DEFAULT_MAX_BODY_BYTES
    """Largest accepted `POST /e/{event_key}` body."""

    registry_ttl_seconds: pydantic.NonNegativeFloat = temporal_worker.REGISTRY_TTL
    """How long synced function configs are cached before being read again from Temporal."""

    temporal_address: str = pydantic.Field(
        default=DEFAULT_TEMPORAL_ADDRESS,
        validation_alias=pydantic.AliasChoices("GATEWAY_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"),
        min_length=1,
    )
    temporal_namespace: str = pydantic.Field(
        default="default",
        validation_alias=pydantic.AliasChoices("GATEWAY_TEMPORAL_NAMESPACE", "TEMPORAL_NAMESPACE"),
        min_length=1,
    )

    temporal_connect_timeout_seconds: pydantic.PositiveFloat = 30.0
    """How long startup keeps retrying to reach Temporal before giving up."""

    @pydantic.field_validator("event_keys", "signing_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept `a,b,c` (as in the environment), a JSON list, or a Python list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                value = json.loads(text)
            else:
                value = text.split(",")
        if isinstance(value, (list, tuple)):
            # Blank items (a trailing comma) are dropped; pydantic rejects non-strings.
            return [
                item.strip() if isinstance(item, str) else item
                for item in value
                if not (isinstance(item, str) and not item.strip())
            ]
        return value

    @pydantic.model_validator(mode="after")
    def _production_needs_keys(self) -> Settings:
        if self.mode == "production":
            if not self.event_keys:
                raise ValueError(
                    "GATEWAY_MODE=production needs GATEWAY_EVENT_KEYS: set it to the"
                    " comma-separated event keys clients may send events with"
                )
            if not self.signing_keys:
                raise ValueError(
                    "GATEWAY_MODE=production needs GATEWAY_SIGNING_KEYS: set it to the"
                    " comma-separated signing keys that may call the REST API"
                )
        return self


@functools.lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
