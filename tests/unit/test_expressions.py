from __future__ import annotations

import copy
import pickle

import cel
import pytest

from temporal_worker._expressions import (
    Expression,
    ExpressionError,
    compile_expression,
    interpolate,
    literal,
)

EVENT = {
    "name": "app/user.created",
    "id": "evt-1",
    "ts": 1700000000000,
    "data": {
        "user_id": "u-1",
        "count": 3,
        "ratio": 1.5,
        "flag": True,
        "nothing": None,
        "tags": ["a", "b"],
        "nested": {"inner": {"value": 7}},
        "a-b": "dashed",
    },
}


def ev(source: str, event: dict | None = None, async_: dict | None = None):
    values: dict = {"event": EVENT if event is None else event}
    if async_ is not None:
        values["async"] = async_
    return compile_expression(source, variables=("event", "async")).evaluate(values)


# --- compile -------------------------------------------------------------------------------------


def test_compile_expression_returns_expression_with_source():
    expr = compile_expression("event.data.count > 1")
    assert isinstance(expr, Expression)
    assert "event.data.count > 1" == expr.source


def test_compile_expression_is_cached():
    assert compile_expression("event.name == 'x'") is compile_expression("event.name == 'x'")


def test_compile_expression_cache_distinguishes_variables():
    a = compile_expression("event.name == 'x'", variables=("event",))
    b = compile_expression("event.name == 'x'", variables=("event", "async"))
    assert a is not b


def test_compile_expression_accepts_list_of_variables():
    expr = compile_expression("async.data.x == event.data.x", variables=["event", "async"])
    assert True is expr.evaluate({"event": {"data": {"x": 1}}, "async": {"data": {"x": 1}}})


@pytest.mark.parametrize("source", ["", "   ", "\n\t"])
def test_compile_expression_rejects_blank(source):
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert "empty" in info.value.reason


@pytest.mark.parametrize(
    "source",
    [
        "event.data.a ==",
        "event.data.",
        "event.data.a == 'x' &&",
        "'unterminated",
        "event.data[",
        "a b",
    ],
)
def test_compile_expression_rejects_syntax_errors(source):
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert source == info.value.expression
    assert info.value.reason.startswith("does not parse")
    assert repr(source) in str(info.value)


def test_compile_expression_rejects_unknown_variable():
    with pytest.raises(ExpressionError) as info:
        compile_expression("user.id == 'x'")
    assert "unknown variable 'user'" in info.value.reason
    assert "only event is available" in info.value.reason


def test_compile_expression_rejects_async_when_only_event_allowed():
    with pytest.raises(ExpressionError) as info:
        compile_expression("async.data.x == event.data.x")
    assert "'async'" in info.value.reason


def test_compile_expression_c07_unquoted_string_is_an_error_showing_the_expression():
    source = "async.data.doc_id == " + "doc-42"
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, variables=("event", "async"))
    err = info.value
    assert source == err.expression
    assert source in str(err)
    assert "unknown variable 'doc'" in err.reason
    assert "only event, async are available" in err.reason
    assert "== 'doc-42'" in err.reason
    assert err.reason in str(err)


def test_compile_expression_c07_quoted_string_matches():
    expr = compile_expression("async.data.doc_id == 'doc-42'", variables=("event", "async"))
    assert True is expr.matches({"event": EVENT, "async": {"data": {"doc_id": "doc-42"}}})
    assert False is expr.matches({"event": EVENT, "async": {"data": {"doc_id": "doc-43"}}})


def test_compile_expression_lists_several_unknown_variables():
    with pytest.raises(ExpressionError) as info:
        compile_expression("foo == 1 && bar")
    assert "unknown variables 'bar', 'foo'" in info.value.reason


def test_expression_error_is_value_error_and_pickles():
    err = ExpressionError("a == b", "because")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert ("a == b", "because", str(err)) == (again.expression, again.reason, str(again))


@pytest.mark.parametrize(
    "source",
    [
        "[1, 2].exists(x, x > 1)",
        "event.data.tags.all(t, t != '')",
        "event.data.tags.exists_one(t, t == 'a')",
        "event.data.tags.filter(t, t == 'a').size() == 1",
        "event.data.tags.map(t, t + '!').size() == 2",
        "event.data.nested.exists(k, k == 'inner')",
    ],
)
def test_compile_expression_allows_comprehension_bound_names(source):
    assert True is compile_expression(source).evaluate({"event": EVENT})


def test_compile_expression_rejects_non_str():
    with pytest.raises(TypeError):
        compile_expression(None)  # type: ignore[arg-type]


# --- evaluate: missing fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "event.data.missing == null",
        "event.data.missing.deeper.still == null",
        "event.data['missing'] == null",
        "event.data['x-y']['z'] == null",
        'event["data"]["missing"] == null',
        "event.missing_top == null",
        "event.data.nested.inner.absent == null",
        "event.data.nested['gone'].value == null",
    ],
)
def test_evaluate_missing_field_is_null(source):
    assert True is ev(source)


def test_evaluate_missing_field_value_is_none():
    assert None is ev("event.data.missing")


def test_evaluate_missing_event_data_entirely():
    assert True is ev("event.data.x == null", event={"name": "a/b"})


def test_evaluate_missing_variable_entirely_is_null():
    assert True is ev("async.data.x == null")


def test_evaluate_missing_field_compares_unequal_to_value():
    assert False is ev("event.data.missing == 'u-1'")
    assert True is ev("event.data.missing != 'u-1'")


def test_evaluate_two_events_missing_the_field_compare_equal():
    assert True is ev("event.data.k == async.data.k", async_={"name": "x", "data": {}})


def test_evaluate_one_event_missing_the_field_compares_unequal():
    assert False is ev("event.data.count == async.data.count", async_={"data": {}})


def test_evaluate_explicit_null_equals_null():
    assert True is ev("event.data.nothing == null")


def test_evaluate_does_not_mutate_values():
    event = copy.deepcopy(EVENT)
    async_ = {"data": {"a": {"b": 1}}}
    values = {"event": event, "async": async_}
    snapshot = copy.deepcopy(values)
    expr = compile_expression(
        "event.data.nested.inner.x == async.data.a.c && event.data.new.deep == null",
        variables=("event", "async"),
    )
    assert True is expr.evaluate(values)
    assert snapshot == values
    assert ["event", "async"] == list(values)


def test_evaluate_has_is_false_for_missing_field():
    assert False is ev("has(event.data.missing)")
    assert True is ev("has(event.data.count)")


def test_evaluate_has_is_false_when_parent_missing():
    assert False is ev("has(event.data.missing.child)")


def test_evaluate_has_guard_keeps_short_circuit():
    assert True is ev("!has(event.data.missing) || event.data.missing > 1")
    assert False is ev("has(event.data.missing) && event.data.missing > 1")


def test_evaluate_has_and_plain_read_of_same_field():
    assert True is ev("has(event.data.missing) || event.data.missing == null")


def test_evaluate_field_below_explicit_null_is_error():
    with pytest.raises(ExpressionError) as info:
        ev("event.data.nothing.x == 1")
    assert "evaluation failed" in info.value.reason


def test_evaluate_method_on_present_field():
    assert True is ev("event.data.user_id.startsWith('u-')")


def test_evaluate_list_index():
    assert True is ev("event.data.tags[1] == 'b'")


def test_evaluate_list_index_out_of_range_is_error():
    with pytest.raises(ExpressionError):
        ev("event.data.tags[5] == 'b'")


def test_evaluate_path_inside_comprehension_is_filled():
    assert False is ev("event.data.tags.exists(t, t == event.data.missing)")


def test_evaluate_bracket_key_with_dash():
    assert True is ev("event.data['a-b'] == 'dashed'")


def test_evaluate_key_hidden_in_string_literal_is_not_a_path():
    assert False is ev("'event.data.missing' == event.name")


# --- evaluate: numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 == 1.0", True),
        ("2 > 1.5", True),
        ("1 < 1.5", True),
        ("event.data.count == 3.0", True),
        ("event.data.count >= 2.5", True),
        ("event.data.ratio > 1", True),
        ("event.data.ratio <= 1", False),
        ("event.data.ratio != 1", True),
        ("3.0 in [1, 2, 3]", True),
        ("event.data.count in [1.0, 3.0]", True),
    ],
)
def test_evaluate_int_and_float_compare(source, expected):
    assert expected is ev(source)


def test_evaluate_int_float_across_events():
    assert True is ev("event.data.count == async.data.count", async_={"data": {"count": 3.0}})


def test_evaluate_mixed_arithmetic_is_error():
    with pytest.raises(ExpressionError):
        ev("event.data.count + 0.5 > 1")


# --- evaluate: errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", ["1 / 0 == 1", "'a' + 1 == 'a1'", "event.data.user_id > 1", "event.data.count.x == 1"]
)
def test_evaluate_errors_raise_expression_error_naming_expression(source):
    with pytest.raises(ExpressionError) as info:
        ev(source)
    assert source == info.value.expression
    assert source in str(info.value)


def test_evaluate_unconvertible_value_is_expression_error():
    with pytest.raises(ExpressionError):
        compile_expression("event.data.x == 1").evaluate({"event": {"data": {"x": object()}}})


def test_evaluate_returns_non_bool_values():
    assert 7 == ev("event.data.nested.inner.value")
    assert "u-1" == ev("event.data.user_id")
    assert ["a", "b"] == ev("event.data.tags")


# --- matches -------------------------------------------------------------------------------------


def test_matches_true_and_false():
    expr = compile_expression("event.data.count > 2")
    assert True is expr.matches({"event": EVENT})
    assert False is expr.matches({"event": {"data": {"count": 1}}})


@pytest.mark.parametrize("source", ["event.data.count", "event.data.missing", "event.data.tags"])
def test_matches_non_bool_is_error(source):
    with pytest.raises(ExpressionError) as info:
        compile_expression(source).matches({"event": EVENT})
    assert "not a bool" in info.value.reason


# --- literal -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "it's",
        'say "hi"',
        "back\\slash",
        "trailing\\",
        "new\nline\ttab\rcr",
        "é ü 日本 😀",
        "\x00\x07\x1f\x7f\u0085\u2028",
        "",
        "${event.data.x}",
        0,
        -1,
        2**63 - 1,
        -(2**63),
        2**63,
        2**64 - 1,
        1.5,
        -0.25,
        1e20,
        1e-7,
        float("inf"),
        float("-inf"),
        True,
        False,
        None,
        [],
        {},
        [1, "a", None, [True, 2.5]],
        {"a": {"b": [1, {"c": "d'e"}]}, "x-y": None},
        b"\x00\xffab",
    ],
)
def test_literal_round_trips_through_cel(value):
    assert value == cel.compile(literal(value)).execute({})


def test_literal_nan():
    result = cel.compile(literal(float("nan"))).execute({})
    assert result != result


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "null"), (True, "true"), (False, "false"), (42, "42"), (1.5, "1.5"), ("a", '"a"'),
     ([1, None], "[1, null]"), ({"k": "v"}, '{"k": "v"}'), ("a\"b", '"a\\"b"')],
)
def test_literal_text(value, expected):
    assert expected == literal(value)


def test_literal_huge_int_becomes_float():
    assert float(2**70) == cel.compile(literal(2**70)).execute({})


def test_literal_rejects_unsupported_type():
    with pytest.raises(TypeError):
        literal(object())


def test_literal_rejects_lone_surrogate():
    with pytest.raises(ValueError):
        literal("\ud83d")


# --- interpolate ---------------------------------------------------------------------------------


def test_interpolate_string_field():
    assert 'async.data.user_id == "u-1"' == interpolate(
        "async.data.user_id == event.data.user_id", "event", EVENT
    )


@pytest.mark.parametrize(
    "value",
    ["it's", 'say "hi"', "back\\slash", "trailing\\", "multi\nline", "é 日本 😀", "\u2028\x00", ""],
)
def test_interpolate_string_escaping_matches_the_value(value):
    source = interpolate("async.data.v == event.data.v", "event", {"data": {"v": value}})
    expr = compile_expression(source, variables=("async",))
    assert True is expr.matches({"async": {"data": {"v": value}}})
    assert False is expr.matches({"async": {"data": {"v": value + "x"}}})


@pytest.mark.parametrize(
    ("value", "text"),
    [(3, "3"), (1.5, "1.5"), (True, "true"), (False, "false"), (None, "null"), (-2, "(-2)")],
)
def test_interpolate_scalars(value, text):
    assert f"async.data.v == {text}" == interpolate(
        "async.data.v == event.data.v", "event", {"data": {"v": value}}
    )


def test_interpolate_missing_is_null():
    assert "async.data.v == null && null == 1" == interpolate(
        "async.data.v == event.data.missing && event.data.a.b.c == 1", "event", {"data": {}}
    )


def test_interpolate_nested_map_and_list():
    value = {"data": {"m": {"a": [1, {"b": None}], "s": "x'y"}}}
    source = interpolate("async.data.m == event.data.m", "event", value)
    assert 'async.data.m == {"a": [1, {"b": null}], "s": "x\'y"}' == source
    assert True is compile_expression(source, variables=("async",)).matches(
        {"async": {"data": {"m": {"a": [1, {"b": None}], "s": "x'y"}}}}
    )


def test_interpolate_bracket_access():
    assert 'async.data.v == "dashed"' == interpolate(
        "async.data.v == event.data['a-b']", "event", EVENT
    )
    assert 'async.data.v == "b"' == interpolate(
        'async.data.v == event["data"].tags[1]', "event", EVENT
    )


def test_interpolate_list_index_out_of_range_is_null():
    assert "null == 1" == interpolate("event.data.tags[9] == 1", "event", EVENT)


def test_interpolate_bare_variable():
    source = interpolate("event == async", "event", {"name": "x", "data": {"k": 1}})
    assert '{"name": "x", "data": {"k": 1}} == async' == source


def test_interpolate_keeps_method_calls():
    source = interpolate("event.data.user_id.startsWith('u')", "event", EVENT)
    assert "\"u-1\".startsWith('u')" == source
    assert True is cel.compile(source).execute({})


def test_interpolate_leaves_string_literals_untouched():
    source = (
        "async.data.a == 'event.data.user_id' && async.data.b == \"event.name\" "
        "&& async.data.c == '''event''' && async.data.d == r'\\' + event.name"
    )
    expected = (
        "async.data.a == 'event.data.user_id' && async.data.b == \"event.name\" "
        "&& async.data.c == '''event''' && async.data.d == r'\\' + \"app/user.created\""
    )
    assert expected == interpolate(source, "event", EVENT)


def test_interpolate_leaves_escaped_quote_in_string_untouched():
    source = "async.data.a == 'it\\'s event.name' && event.data.count == 3"
    assert "async.data.a == 'it\\'s event.name' && 3 == 3" == interpolate(source, "event", EVENT)


def test_interpolate_leaves_async_and_field_named_event_untouched():
    source = "async.data.event == event.data.count && async.event.data == 1"
    assert "async.data.event == 3 && async.event.data == 1" == interpolate(source, "event", EVENT)


def test_interpolate_leaves_comments_untouched():
    source = "async.data.x == event.data.count // event.data.x\n"
    assert "async.data.x == 3 // event.data.x\n" == interpolate(source, "event", EVENT)


def test_interpolate_without_reference_returns_source():
    assert "async.data.x == 'y'" == interpolate("async.data.x == 'y'", "event", EVENT)


def test_interpolate_dynamic_index_keeps_inner_reference():
    source = interpolate("event.data[async.data.key] == 1", "event", {"data": {"k": 1}})
    assert '{"k": 1}[async.data.key] == 1' == source


def test_interpolate_other_variable_name():
    source = interpolate("event.data.x == async.data.x", "async", {"data": {"x": 5}})
    assert "event.data.x == 5" == source


def test_interpolate_has_becomes_presence_bool():
    source = interpolate(
        "has(event.data.count) && !has(event.data.missing) && has(async.data.x) && "
        "has(event.data.nothing)",
        "event",
        EVENT,
    )
    assert "true && !false && has(async.data.x) && true" == source
    expr = compile_expression(source, variables=("async",))
    assert True is expr.matches({"async": {"data": {"x": 1}}})


def test_interpolate_unsupported_value_is_expression_error():
    with pytest.raises(ExpressionError) as info:
        interpolate("async.data.x == event.data.x", "event", {"data": {"x": object()}})
    assert "event.data.x" in info.value.reason


def test_interpolate_then_compile_matches_wait_semantics():
    trigger = {"name": "order/created", "data": {"order_id": "o-'1'", "total": 10}}
    source = interpolate(
        "async.data.order_id == event.data.order_id && async.data.total >= event.data.total",
        "event",
        trigger,
    )
    expr = compile_expression(source, variables=("event", "async"))
    assert True is expr.matches({"async": {"data": {"order_id": "o-'1'", "total": 10.0}}})
    assert False is expr.matches({"async": {"data": {"order_id": "o-1", "total": 10}}})
    assert False is expr.matches({"async": {"data": {}}})
