"""Names of the environment variables compat reads (Inngest's own names) and defaults."""

from __future__ import annotations

import enum
from typing import Final


class EnvKey(str, enum.Enum):
    BASE_URL = "INNGEST_BASE_URL"  # both origins (API and event API)
    API_BASE_URL = "INNGEST_API_BASE_URL"
    EVENT_API_BASE_URL = "INNGEST_EVENT_API_BASE_URL"
    # "1"/"true" selects dev mode; a URL selects dev mode and sets both origins; "0"/"false" production
    DEV = "INNGEST_DEV"
    EVENT_KEY = "INNGEST_EVENT_KEY"
    SIGNING_KEY = "INNGEST_SIGNING_KEY"
    SIGNING_KEY_FALLBACK = "INNGEST_SIGNING_KEY_FALLBACK"
    ENV = "INNGEST_ENV"


DEFAULT_ORIGIN: Final = "http://127.0.0.1:8288"  # the gateway, on Inngest's dev port
DEV_EVENT_KEY: Final = "NO_EVENT_KEY_SET"  # what Inngest SDKs send in dev mode without a key
EVENT_ID_SEED_HEADER: Final = "x-inngest-event-id-seed"  # "<millis>,<base64 of 10 bytes>" per send


class EmptySentinel:
    """Default of the `output_type` parameters: "not given" (a class, as in Inngest's SDK)."""
