"""Worker settings, read from the environment (prefix INNGEST_TEMPORAL_), explicit args win."""

from __future__ import annotations

import dataclasses
import os
from typing import Any


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if raw.endswith(suffix) and raw[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(raw[: -len(suffix)]) * units[suffix]
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"{name}={raw!r} is not a duration: use seconds (e.g. 15) or a unit (500ms, 15s, 2m, 1h)"
        ) from None


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """How runs are driven. Defaults follow Inngest's (15 s first retry, doubling, capped at 2 h)."""

    retry_initial_interval: float = 15.0
    retry_max_interval: float = 7200.0
    heartbeat_timeout: float = 30.0  # a step on a dead worker is retried after this
    step_timeout: float = 7200.0  # Inngest's maximum step execution time
    # On stop (SIGTERM, Ctrl-C, a dev reload) running steps get this long to finish; a step still
    # running then is cancelled and retried elsewhere (an attempt, as a crash would be).
    shutdown_grace: float = 8.0
    # Continue a run as new after this many memo writes (0: only when Temporal suggests it).
    continue_as_new_after_steps: int = 0
    max_steps: int = 1000  # Inngest's default step limit per run
    max_state_bytes: int = 32 * 1024 * 1024  # Inngest's run state limit
    payload_store: str | None = None  # INNGEST_TEMPORAL_PAYLOAD_STORE: claim check for big payloads
    namespace: str = "default"

    @classmethod
    def from_env(cls, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {
            "retry_initial_interval": _seconds("INNGEST_TEMPORAL_RETRY_INITIAL_INTERVAL", 15.0),
            "retry_max_interval": _seconds("INNGEST_TEMPORAL_RETRY_MAX_INTERVAL", 7200.0),
            "heartbeat_timeout": _seconds("INNGEST_TEMPORAL_HEARTBEAT_TIMEOUT", 30.0),
            "step_timeout": _seconds("INNGEST_TEMPORAL_STEP_TIMEOUT", 7200.0),
            "shutdown_grace": _seconds("INNGEST_TEMPORAL_SHUTDOWN_GRACE", 8.0),
            "continue_as_new_after_steps": int(
                os.environ.get("INNGEST_TEMPORAL_CONTINUE_AS_NEW_AFTER_STEPS", "0") or 0
            ),
            "payload_store": os.environ.get("INNGEST_TEMPORAL_PAYLOAD_STORE", "").strip() or None,
            "max_steps": int(os.environ.get("INNGEST_TEMPORAL_MAX_STEPS", "1000") or 1000),
            "namespace": os.environ.get("TEMPORAL_NAMESPACE", "default") or "default",
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
