"""Event validation rules (pure, no server)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import ulid

from gateway import _errors, _validate

TS_2024 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def test_parse_body_one_object_is_a_list_of_one() -> None:
    assert [{"name": "a"}] == _validate.parse_body(b'{"name": "a"}')


def test_parse_body_array_is_kept() -> None:
    assert [{"name": "a"}, 3] == _validate.parse_body(b'[{"name": "a"}, 3]')


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "request body is empty"),
        (b"   ", "request body is empty"),
        (b"{", "request body is not valid JSON"),
        (b'{"name": NaN}', "request body is not valid JSON: NaN is not valid JSON"),
        (b"\xff\xfe", "request body is not"),
        (b'"text"', "must be an event object or an array of events, got string"),
        (b"42", "got integer"),
        (b"null", "got null"),
        (b'{"name": "a", "data": {"n": 1e400}}',
         "request body holds the number 1e400, beyond the range of a 64-bit float"),
        (b'{"name": "a", "data": {"n": -2E+999}}', "holds the number -2E+999"),
        (b'{"name": "a", "data": {"n": ' + b"1" * 5000 + b"}}",
         "request body holds an integer of more than 4300 digits: send such numbers as strings"),
        (b"[" * 100_000 + b"]" * 100_000, "request body is"),
    ],
)
def test_parse_body_rejects_non_event_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(_errors.BadRequestError) as info:
        _validate.parse_body(body)
    assert fragment in info.value.message
    assert 400 == info.value.status


def test_parse_body_rejects_more_than_5000_events() -> None:
    body = json.dumps([{"name": "a"}] * 5001).encode()
    with pytest.raises(_errors.PayloadTooLargeError) as info:
        _validate.parse_body(body)
    assert "5001 events; the limit is 5000" in info.value.message


def test_parse_body_accepts_exactly_5000_events() -> None:
    assert 5000 == len(_validate.parse_body(json.dumps([{"name": "a"}] * 5000).encode()))


def test_validate_event_minimal_is_normalised() -> None:
    assert {"name": "app/a", "data": {}, "id": "", "ts": 0} == _validate.validate_event(
        {"name": "app/a"}, 0
    )


def test_validate_event_keeps_every_given_field() -> None:
    raw = {
        "name": "app/a",
        "data": {"k": [1, {"x": None}]},
        "id": "ord-7",
        "ts": TS_2024,
        "v": "2024-01-01",
        "user": {"email": "a@b.c"},
    }
    assert raw == _validate.validate_event(raw, 0)


def test_validate_event_ignores_unknown_fields() -> None:
    assert {"name": "a", "data": {}, "id": "", "ts": 0} == _validate.validate_event(
        {"name": "a", "extra": 1}, 0
    )


@pytest.mark.parametrize("data", [None, {}])
def test_validate_event_null_or_missing_data_becomes_empty_object(data: Any) -> None:
    raw = {"name": "a"} if data is None else {"name": "a", "data": data}
    assert {} == _validate.validate_event(raw, 0)["data"]
    assert {} == _validate.validate_event({"name": "a", "data": None}, 0)["data"]


def test_validate_event_removes_data_inngest() -> None:
    raw = {"name": "a", "data": {"_inngest": {"fn_id": "x"}, "keep": 1}}
    assert {"keep": 1} == _validate.validate_event(raw, 0)["data"]
    assert "_inngest" in raw["data"], "the caller's dict is not modified"


@pytest.mark.parametrize("ts", [None, 0])
def test_validate_event_missing_ts_is_zero(ts: Any) -> None:
    assert 0 == _validate.validate_event({"name": "a", "ts": ts}, 0)["ts"]


def test_validate_event_whole_float_ts_becomes_int() -> None:
    assert TS_2024 == _validate.validate_event({"name": "a", "ts": float(TS_2024)}, 0)["ts"]


@pytest.mark.parametrize("ts", [_validate.TS_MIN_MS, _validate.TS_MAX_MS])
def test_validate_event_ts_bounds_are_inclusive(ts: int) -> None:
    assert ts == _validate.validate_event({"name": "a", "ts": ts}, 0)["ts"]


LONE = "holds the lone surrogate"
DEEP = "is nested more than 100 levels deep: flatten it, or send the deep part as a JSON string"


def nested(levels: int) -> Any:
    """A JSON value `levels` containers deep: [[...[]...]]."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


NAME_FIX = 'is required: give the event a name such as "app/user.created"'
TS_TYPE = "must be an integer (Unix time in milliseconds), got"
TS_SECONDS = (
    "1704067200 is outside 1980-01-01..2100-01-01; ts is Unix time in milliseconds"
    " (it looks like seconds: multiply by 1000)"
)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ([], "event[3]", "must be a JSON object, got list"),
        ("x", "event[3]", "must be a JSON object, got string"),
        ({}, "event[3].name", NAME_FIX),
        ({"name": None}, "event[3].name", NAME_FIX),
        ({"name": 5}, "event[3].name", "must be a string, got integer"),
        ({"name": ""}, "event[3].name", "must not be empty"),
        ({"name": "  "}, "event[3].name", "must not be empty"),
        ({"name": "a" * 513}, "event[3].name", "is 513 characters long; the limit is 512"),
        ({"name": "a\x00b"}, "event[3].name", "'a\\x00b' holds the control character '\\x00'"),
        ({"name": "app/x\n"}, "event[3].name", "'app/x\\n' holds the control character '\\n'"),
        ({"name": "a\x85b"}, "event[3].name", "'a\\x85b' holds the control character '\\x85'"),
        ({"name": "a/\ud800b"}, "event[3].name", f"{LONE} '\\ud800'"),
        ({"name": "a", "id": "x\udfff"}, "event[3].id", f"{LONE} '\\udfff'"),
        ({"name": "a", "v": "\ud800"}, "event[3].v", LONE),
        ({"name": "a", "data": {"x": "\ud800"}}, "event[3].data.x", LONE),
        ({"name": "a", "data": {"l": [1, ["\udc00"]]}}, "event[3].data.l[1][0]", LONE),
        ({"name": "a", "data": {"l": [{"\ud800k": 1}]}}, "event[3].data.l[0]", f"has a key that {LONE}"),
        ({"name": "a", "user": {"u": {"x": "\ud800"}}}, "event[3].user.u.x", LONE),
        ({"name": "a", "data": {"x": nested(100)}}, "event[3].data", DEEP),
        ({"name": "a", "user": {"u": nested(100)}}, "event[3].user", DEEP),
        ({"name": "inngest/fn.failed"}, "event[3].name", '"inngest/fn.failed" is reserved'),
        ({"name": "Inngest/Anything"}, "event[3].name", '"Inngest/Anything" is reserved'),
        ({"name": "a", "data": [1]}, "event[3].data", "must be a JSON object, got list"),
        ({"name": "a", "data": "s"}, "event[3].data", "must be a JSON object, got string"),
        ({"name": "a", "id": 7}, "event[3].id", "must be a string, got integer"),
        ({"name": "a", "ts": "1"}, "event[3].ts", f"{TS_TYPE} string"),
        ({"name": "a", "ts": True}, "event[3].ts", f"{TS_TYPE} boolean"),
        ({"name": "a", "ts": 1.5}, "event[3].ts", f"{TS_TYPE} number"),
        ({"name": "a", "ts": 1_704_067_200}, "event[3].ts", TS_SECONDS),
        ({"name": "a", "ts": -1}, "event[3].ts", "-1 is outside 1980-01-01..2100-01-01"),
        ({"name": "a", "ts": 4_102_444_800_001}, "event[3].ts", "4102444800001 is outside"),
        ({"name": "a", "ts": 315_532_799_999}, "event[3].ts", "315532799999 is outside"),
        ({"name": "a", "v": 2}, "event[3].v", "must be a string, got integer"),
        ({"name": "a", "user": "u"}, "event[3].user", "must be a JSON object, got string"),
    ],
)
def test_validate_event_rejects_with_index_field_and_fix(
    raw: Any, field: str, message: str
) -> None:
    with pytest.raises(_errors.InvalidEventError) as info:
        _validate.validate_event(raw, 3)
    assert info.value.message.startswith(f"{field} {message}")
    assert field == info.value.field
    assert 3 == info.value.index


def test_validate_event_accepts_512_character_name() -> None:
    assert 512 == len(_validate.validate_event({"name": "a" * 512}, 0)["name"])


def test_validate_event_inngest_without_slash_is_not_reserved() -> None:
    assert "inngestion/x" == _validate.validate_event({"name": "inngestion/x"}, 0)["name"]


def test_validate_events_stops_at_first_invalid_event() -> None:
    valid, error = _validate.validate_events(
        [{"name": "a"}, {"name": "b"}, {"name": "c", "data": []}, {"name": 1}, {"name": "d"}]
    )
    assert ["a", "b"] == [event["name"] for event in valid]
    assert error is not None
    assert "event[2].data" == error.field


def test_validate_events_all_valid_has_no_error() -> None:
    valid, error = _validate.validate_events([{"name": "a"}, {"name": "b"}])
    assert (2, None) == (len(valid), error)


def _seed(millis: int, entropy: bytes) -> str:
    return f"{millis},{base64.b64encode(entropy).decode()}"


def test_seeded_event_ids_follow_inngests_derivation() -> None:
    # ULID = 48-bit millis + the 10 seed bytes, event i (from 1) adding i to their last 4 bytes.
    entropy = bytes(range(6)) + (2**32 - 2).to_bytes(4, "big")  # the index wraps past 2**32
    ids = _validate.seeded_event_ids(_seed(1_743_130_137_367, entropy), 3)
    assert ids is not None and len(ids) == 3
    raw = [ulid.ULID.from_str(i).bytes for i in ids]
    assert all(r[:6] == (1_743_130_137_367).to_bytes(6, "big") and r[6:12] == entropy[:6] for r in raw)
    assert [int.from_bytes(r[12:], "big") for r in raw] == [2**32 - 1, 0, 1]
    assert ids == _validate.seeded_event_ids(_seed(1_743_130_137_367, entropy), 3)  # a re-send: same ids


def test_no_seed_header_means_new_ids() -> None:
    assert _validate.seeded_event_ids(None, 2) is None


@pytest.mark.parametrize(
    "seed",
    ["", "123", "abc,AAAAAAAAAAAAAA==", "0,AAAAAAAAAAAAAA==", "1743130137367,AAAA", "1743130137367,not base64!"],
)
def test_a_malformed_seed_header_is_refused_naming_it(seed: str) -> None:
    with pytest.raises(_errors.BadRequestError) as info:
        _validate.seeded_event_ids(seed, 1)
    assert info.value.field == "x-inngest-event-id-seed"
    assert "'<unix millis>,<base64 of 10 bytes>'" in str(info.value)


def test_validate_event_accepts_data_100_levels_deep_and_surrogate_pairs() -> None:
    """The depth limit is inclusive, and an escaped pair (an emoji) is text like any other."""
    (raw,) = _validate.parse_body(b'{"name": "a/\\ud83d\\ude00", "data": {"s": "\\ud83d\\ude00"}}')
    event = _validate.validate_event({**raw, "user": {"deep": nested(99)}}, 0)
    assert "a/\U0001f600" == event["name"] and {"s": "\U0001f600"} == event["data"]
    assert _validate.validate_event({"name": "a", "data": {"x": nested(99)}}, 0)["data"]
