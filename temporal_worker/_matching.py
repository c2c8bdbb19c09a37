"""Which functions an event triggers, and the deterministic ids of the runs it starts."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from temporal_worker._expressions import ExpressionError, compile_expression
from temporal_worker._models import FunctionSpec

__all__ = ["matching_functions", "name_patterns", "run_id", "validate_trigger_name"]

logger = logging.getLogger(__name__)

MAX_TRIGGER_NAME_LENGTH = 255
# Temporal refuses workflow ids of 1000 bytes and more.
_MAX_WORKFLOW_ID_BYTES = 999
_FN_ID_KEEP = 400  # a longer function id is cut to this many characters plus a hash of the whole


def name_patterns(event_name: str) -> list[str]:
    """Trigger names that match `event_name`: itself, then one `<prefix>*` for every `/` or `.`.

    "app/user.created" -> ["app/user.created", "app/*", "app/user.*"].
    """
    patterns = [event_name]
    for i, ch in enumerate(event_name):
        if ch in "/.":
            pattern = event_name[: i + 1] + "*"
            if pattern not in patterns:
                patterns.append(pattern)
    return patterns


MAX_EVENT_NAME_LENGTH: Final = 512  # Inngest consts.MaxEventNameLength (v2 ingestion)
RESERVED_PREFIX: Final = "inngest/"  # Inngest's own events (function.finished, .failed, ...)


def sent_event_name_problem(name: str) -> str | None:
    """Why users may not send an event of this name (None: they may), as the end of a sentence
    naming the field: the rule of the event API and of `step.send_event` alike."""
    if not name.strip():
        return 'must not be empty: use a name such as "app/user.created"'
    control = next((char for char in name if char < " " or "\x7f" <= char <= "\x9f"), None)
    if control is not None:
        return (
            f"{name!r} holds the control character {control!r}: event names are printable text"
            ' such as "app/user.created"'
        )
    if len(name) > MAX_EVENT_NAME_LENGTH:
        return f"is {len(name)} characters long; the limit is {MAX_EVENT_NAME_LENGTH}"
    if name.lower().startswith(RESERVED_PREFIX):
        return (
            f'"{name}" is reserved: names starting with "{RESERVED_PREFIX}" are internal events;'
            ' use your own prefix, e.g. "app/..."'
        )
    return None


def validate_trigger_name(name: str) -> None:
    """Raise ValueError unless `name` is a valid event trigger: an event name or a wildcard."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"event trigger name must be a non-empty string, got {name!r}")
    if len(name) > MAX_TRIGGER_NAME_LENGTH:
        raise ValueError(
            f"event trigger name {name[:40]!r}... is {len(name)} characters long; "
            f"the limit is {MAX_TRIGGER_NAME_LENGTH}"
        )
    star = name.find("*")
    if star < 0:
        return
    if star != len(name) - 1:
        raise ValueError(
            f"event trigger name {name!r}: '*' may only appear once, at the end "
            "(e.g. 'app/*' or 'app/user.*')"
        )
    if star == 0 or name[star - 1] not in "/.":
        raise ValueError(
            f"event trigger name {name!r}: '*' must directly follow '/' or '.' "
            "(e.g. 'app/*' or 'app/user.*'); mid-word wildcards are not supported"
        )


def matching_functions(
    event: Mapping[str, Any], functions: Iterable[FunctionSpec]
) -> list[FunctionSpec]:
    """Functions (in the given order, each at most once) that `event` triggers.

    A trigger matches when its event name equals the event's name or is a wildcard covering it, and
    its expression (if any; blank counts as none) is true. An expression that fails to compile or to
    evaluate skips that trigger with a warning.
    """
    name = event.get("name")
    if not isinstance(name, str) or not name:
        return []
    patterns = set(name_patterns(name))
    values = {"event": event}
    matched: list[FunctionSpec] = []
    for fn in functions:
        for trigger in fn.triggers:
            if trigger.event is None or trigger.event not in patterns:
                continue
            expression = trigger.expression
            if expression is None or not expression.strip():
                matched.append(fn)
                break
            try:
                ok = compile_expression(expression, variables=("event",)).matches(values)
            except ExpressionError as e:
                logger.warning(
                    "skipping trigger %r of function %s for event %r: expression error: %s",
                    trigger.event,
                    fn.id,
                    name,
                    e,
                    extra={"function_id": fn.id, "expression": expression, "error": e.reason},
                )
                continue
            if ok:
                matched.append(fn)
                break
    return matched


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def run_id(fn_id: str, event: Mapping[str, Any], internal_id: str) -> str:
    """Deterministic Temporal workflow id of the run `event` starts for function `fn_id`.

    With a user event id: "<fn_id>:id:<32 hex of sha256(id)>", so a re-sent id maps to the same
    workflow id (and starts no second run while the first is retained). Without one:
    "<fn_id>:<internal_id>". Always under 1000 bytes (a very long function id is shortened to a
    prefix plus a hash of the whole).
    """
    if not fn_id:
        raise ValueError("run_id: fn_id must be a non-empty function id")
    if not internal_id:
        raise ValueError("run_id: internal_id must be the event's non-empty internal id (a ULID)")
    prefix = fn_id
    if len(fn_id.encode("utf-8", "surrogatepass")) > _FN_ID_KEEP:
        prefix = f"{fn_id[:_FN_ID_KEEP // 4]}~{_sha256_hex(fn_id)[:32]}"
    user_id = event.get("id")
    if user_id is not None and user_id != "":
        return f"{prefix}:id:{_sha256_hex(str(user_id))[:32]}"
    suffix = internal_id
    if len(f"{prefix}:{suffix}".encode("utf-8", "surrogatepass")) > _MAX_WORKFLOW_ID_BYTES:
        suffix = f"h{_sha256_hex(internal_id)[:32]}"
    return f"{prefix}:{suffix}"
