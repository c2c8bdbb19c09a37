"""Pure logic of the start-time flow control: Inngest's rate-limit GCRA and key evaluation."""

from __future__ import annotations

import pytest

from temporal_worker._expressions import ExpressionError
from temporal_worker._flow_entities import gcra_drop
from temporal_worker._flow_routing import NOT_LIMITED, entity_id, evaluate_key

DAY_MS = 86_400_000


def admitted(times_ms: list[float], limit: int, period_ms: float) -> list[bool]:
    tat = None
    out = []
    for now in times_ms:
        ok, tat = gcra_drop(tat, now, limit, period_ms)
        out.append(ok)
    return out


def test_gcra_limit_5_per_day_admits_1_of_5_back_to_back() -> None:
    assert [True, False, False, False, False] == admitted([0, 1, 2, 3, 4], 5, DAY_MS)


def test_gcra_limit_5_per_day_admits_the_next_after_4_8_hours() -> None:
    emission = DAY_MS / 5
    assert [True, False, True] == admitted([0, emission - 1000, emission], 5, DAY_MS)


def test_gcra_limit_10_per_hour_admits_2_back_to_back_then_one_per_6_minutes() -> None:
    six_min = 360_000
    times = [0, 0, 0, six_min - 1, six_min, six_min + 1, 2 * six_min]
    assert [True, True, False, False, True, False, True] == admitted(times, 10, 3_600_000)


def test_gcra_burst_is_limit_div_10() -> None:
    assert 11 == sum(admitted([0] * 30, 100, 60_000))
    assert 1 == sum(admitted([0] * 30, 9, 60_000))


def test_gcra_idle_bucket_refills_to_capacity_only() -> None:
    times = [0, 0, 0, 10 * DAY_MS, 10 * DAY_MS, 10 * DAY_MS]
    assert [True, True, False, True, True, False] == admitted(times, 10, DAY_MS)


def test_gcra_dropped_request_leaves_state_unchanged() -> None:
    ok, tat = gcra_drop(None, 0, 1, 1000)
    assert (True, 1000) == (ok, tat)
    assert (False, 1000) == gcra_drop(tat, 500, 1, 1000)


def test_evaluate_key_none_is_one_key_for_the_function() -> None:
    assert "" == evaluate_key(None, {"data": {}})


def test_evaluate_key_renders_json_and_missing_fields_share_null() -> None:
    assert '"a"' == evaluate_key("event.data.k", {"data": {"k": "a"}})
    assert "1" == evaluate_key("event.data.k", {"data": {"k": 1}})
    assert "null" == evaluate_key("event.data.k", {"data": {}})
    assert evaluate_key("event.data.k", {"data": {}}) == evaluate_key("event.data.k", {"data": {"k": None}})


def test_evaluate_key_false_means_not_limited() -> None:
    assert NOT_LIMITED is evaluate_key("event.data.k", {"data": {"k": False}})
    assert "true" == evaluate_key("event.data.k", {"data": {"k": True}})


def test_evaluate_key_error_raises() -> None:
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate_key("string(1 / event.data.d)", {"data": {"d": 0}})


def test_entity_id_separates_functions_and_keys() -> None:
    ids = {entity_id("p:", f, k) for f in ("a-f", "a-g") for k in ("", '"x"', '"y"')}
    assert 6 == len(ids)
    assert entity_id("p:", "a-f", '"x"').startswith("p:a-f:")
    assert len(entity_id("p:", "f" * 2000, "k").encode()) < 1000
