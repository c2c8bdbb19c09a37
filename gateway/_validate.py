"""Pure validation of `POST /e/{event_key}` bodies, with Inngest's rules and clear messages.

No I/O here: the route reads the body, these functions turn it into the event dicts the routing
core takes (`{"name", "data", "id", "ts", "v"?, "user"?}`) or raise an error naming the event index,
the field and the fix.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from typing import Any, Final

import temporal_worker
import ulid

from . import _errors, _schemas

TS_MIN_MS: Final = 315_532_800_000  # 1980-01-01T00:00:00Z
TS_MAX_MS: Final = 4_102_444_800_000  # 2100-01-01T00:00:00Z
# Nesting levels of an event's `data` (and `user`). Real payloads are shallow; Temporal's payload
# conversion and the REST API's serializer fail some 300-500 levels down, after the run started.
MAX_DATA_DEPTH: Final = 100

_JSON_TYPE_NAMES: Final = {
    dict: "object",
    list: "list",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded JSON value, for error messages."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _OutOfRange(Exception):
    """A JSON number too large for a 64-bit float (Python would make it infinity)."""


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _OutOfRange(text)
    return value


def parse_body(body: bytes) -> list[Any]:
    """Decode a request body into the list of raw events it carries (one object or an array)."""
    if not body.strip():
        raise _errors.BadRequestError(
            "request body is empty: send one event object or a JSON array of events"
        )
    try:
        decoded = json.loads(body, parse_constant=_reject_constant, parse_float=_parse_float)
    except _OutOfRange as err:
        raise _errors.BadRequestError(
            f"request body holds the number {str(err)[:40]}, beyond the range of a 64-bit float"
            " (it would become infinity): send such numbers as strings"
        ) from None
    except UnicodeDecodeError as err:
        raise _errors.BadRequestError(f"request body is not UTF-8 JSON: {err}") from None
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        if "integer string conversion" in str(err):  # Python's guard against huge integers
            raise _errors.BadRequestError(
                f"request body holds an integer of more than {sys.get_int_max_str_digits()} digits:"
                " send such numbers as strings"
            ) from None
        raise _errors.BadRequestError(f"request body is not valid JSON: {err}") from None
    except RecursionError:
        raise _errors.BadRequestError(
            f"request body is nested too deeply: an event's data may be nested {MAX_DATA_DEPTH}"
            " levels deep"
        ) from None
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list):
        if len(decoded) > _schemas.MAX_EVENTS_PER_REQUEST:
            raise _errors.PayloadTooLargeError(
                f"request has {len(decoded)} events; the limit is"
                f" {_schemas.MAX_EVENTS_PER_REQUEST} per request: split them into several requests"
            )
        return decoded
    raise _errors.BadRequestError(
        f"request body must be an event object or an array of events, got {json_type(decoded)}"
    )


def _invalid(index: int, field: str, message: str) -> _errors.InvalidEventError:
    path = f"event[{index}]" + (f".{field}" if field else "")
    return _errors.InvalidEventError(f"{path} {message}", index=index, field=path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_event(raw: Any, index: int) -> dict[str, Any]:
    """Check one raw event and return it normalised for the routing core.

    `data` null/missing becomes `{}` and loses its `_inngest` key; `id` missing becomes `""`;
    `ts` missing, null or 0 becomes 0 (the router fills in the receive time); `v` and `user` are
    kept only when given. Unknown top-level fields are ignored, as Inngest does.
    """
    if not isinstance(raw, dict):
        raise _invalid(index, "", f"must be a JSON object, got {json_type(raw)}")

    name = raw.get("name")
    if name is None:
        raise _invalid(
            index, "name", 'is required: give the event a name such as "app/user.created"'
        )
    if not isinstance(name, str):
        raise _invalid(index, "name", f"must be a string, got {json_type(name)}")
    if (bad := _bad_text(name)) is not None:
        raise _invalid(index, "name", bad)
    if (problem := temporal_worker.sent_event_name_problem(name)) is not None:
        raise _invalid(index, "name", problem)

    data = raw.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise _invalid(index, "data", f"must be a JSON object, got {json_type(data)}")
    elif "_inngest" in data:
        data = {key: value for key, value in data.items() if key != "_inngest"}
    _check_nested(data, index, "data")

    event_id = raw.get("id")
    if event_id is None:
        event_id = ""
    elif not isinstance(event_id, str):
        raise _invalid(index, "id", f"must be a string, got {json_type(event_id)}")
    elif (bad := _bad_text(event_id)) is not None:
        raise _invalid(index, "id", bad)

    ts = raw.get("ts")
    if ts is None:
        ts = 0
    elif isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    if not _is_int(ts):
        raise _invalid(
            index, "ts", f"must be an integer (Unix time in milliseconds), got {json_type(ts)}"
        )
    if ts != 0 and not TS_MIN_MS <= ts <= TS_MAX_MS:
        hint = (
            " (it looks like seconds: multiply by 1000)"
            if TS_MIN_MS // 1000 <= ts <= TS_MAX_MS // 1000
            else ""
        )
        raise _invalid(
            index,
            "ts",
            f"{ts} is outside 1980-01-01..2100-01-01; ts is Unix time in milliseconds{hint}",
        )

    event: dict[str, Any] = {"name": name, "data": data, "id": event_id, "ts": ts}

    version = raw.get("v")
    if version is not None:
        if not isinstance(version, str):
            raise _invalid(index, "v", f"must be a string, got {json_type(version)}")
        if (bad := _bad_text(version)) is not None:
            raise _invalid(index, "v", bad)
        event["v"] = version

    user = raw.get("user")
    if user is not None:
        if not isinstance(user, dict):
            raise _invalid(index, "user", f"must be a JSON object, got {json_type(user)}")
        _check_nested(user, index, "user")
        event["user"] = user

    return event


def _bad_text(text: str) -> str | None:
    """Why a decoded JSON string cannot be stored (None if it can): a lone surrogate escape such
    as \\ud800 decodes, but is not Unicode text, so no UTF-8 encoder (Temporal's) takes it."""
    if text.isascii():
        return None
    try:
        text.encode()
    except UnicodeEncodeError as err:
        return (
            f"holds the lone surrogate {err.object[err.start:err.end]!r} (a \\ud800-\\udfff escape"
            " without its pair), which is not Unicode text: send the text itself as UTF-8"
        )
    return None


def _check_nested(value: Any, index: int, field: str) -> None:
    """Refuse `value` nested over MAX_DATA_DEPTH levels, or holding a string (value or key) that is
    not Unicode text, naming where."""
    stack: list[tuple[Any, int, str]] = [(value, 1, field)]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise _invalid(
                index,
                field,
                f"is nested more than {MAX_DATA_DEPTH} levels deep: flatten it, or send the deep"
                " part as a JSON string",
            )
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(key, str) and (bad := _bad_text(key)) is not None:
                raise _invalid(index, path, f"has a key that {bad}")
            if isinstance(item, str):
                if (bad := _bad_text(item)) is not None:
                    raise _invalid(index, _path(path, key), bad)
            elif isinstance(item, (dict, list)):
                stack.append((item, depth + 1, _path(path, key)))


def _path(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def validate_events(
    raw_events: list[Any],
) -> tuple[list[dict[str, Any]], _errors.InvalidEventError | None]:
    """Validate events in order, stopping at the first invalid one.

    Returns the valid events before it and the error (None when all are valid): like Inngest, the
    events before the first invalid one are still sent, nothing after it.
    """
    valid: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_events):
        try:
            valid.append(validate_event(raw, index))
        except _errors.InvalidEventError as err:
            return valid, err
    return valid, None


EVENT_ID_SEED_HEADER: Final = "x-inngest-event-id-seed"


def seeded_event_ids(seed: str | None, count: int) -> list[str] | None:
    """The internal ids of a request's first `count` events from Inngest's event-id seed header
    (`<millis>,<base64 of 10 bytes>`, sent by the SDKs), or None without one.

    As Inngest does it, so that a client re-sending a request after a timeout or a 5xx gets the
    same ids and, since run ids derive from them, starts no run twice: event i (from 1) gets the
    ULID of time `millis` and the 10 bytes with i added to their last 4 (big-endian, wrapping).
    """
    if seed is None:
        return None
    millis_text, _, entropy_text = seed.partition(",")
    try:
        millis = int(millis_text)
        entropy = base64.b64decode(entropy_text, validate=True)
    except ValueError:
        millis, entropy = 0, b""
    if not 0 < millis < 2**48 or len(entropy) != 10:
        raise _errors.BadRequestError(
            f"header {EVENT_ID_SEED_HEADER} must be '<unix millis>,<base64 of 10 bytes>' "
            f"(as the Inngest SDKs send it), got {seed[:100]!r}",
            field=EVENT_ID_SEED_HEADER,
        )
    head, tail = entropy[:6], int.from_bytes(entropy[6:], "big")
    time_bytes = millis.to_bytes(6, "big")
    return [
        str(ulid.ULID(time_bytes + head + ((tail + i) % 2**32).to_bytes(4, "big")))
        for i in range(1, count + 1)
    ]
