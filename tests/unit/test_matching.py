from __future__ import annotations

import hashlib
import logging

import pytest

from temporal_worker._matching import (
    matching_functions,
    name_patterns,
    run_id,
    validate_trigger_name,
)
from temporal_worker._models import FunctionSpec, TriggerSpec


def fn(fn_id: str, *triggers: TriggerSpec) -> FunctionSpec:
    return FunctionSpec(
        id=f"app-{fn_id}",
        app_id="app",
        name=fn_id,
        task_queue="inngest:app",
        triggers=list(triggers),
    )


def on(event: str, expression: str | None = None) -> TriggerSpec:
    return TriggerSpec(event=event, expression=expression)


def ids(functions: list[FunctionSpec]) -> list[str]:
    return [f.id for f in functions]


EVENT = {"name": "app/user.created", "data": {"plan": "pro", "seats": 3}, "id": "", "ts": 1}


# --- name_patterns -------------------------------------------------------------------------------


def test_name_patterns_expands_wildcards_exact_first():
    assert ["app/user.created", "app/*", "app/user.*"] == name_patterns("app/user.created")


def test_name_patterns_without_separators():
    assert ["signup"] == name_patterns("signup")


def test_name_patterns_many_separators():
    assert ["a.b/c.d", "a.*", "a.b/*", "a.b/c.*"] == name_patterns("a.b/c.d")


def test_name_patterns_deduplicates():
    assert ["app/*"] == name_patterns("app/*")


# --- validate_trigger_name -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["app/user.created", "app/*", "app/user.*", "a.*", "x", "a" * 255])
def test_validate_trigger_name_accepts(name):
    validate_trigger_name(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "non-empty"),
        ("a" * 256, "255"),
        ("*", "directly follow"),
        ("app/user.update*", "directly follow"),
        ("app/*.created", "at the end"),
        ("app/**", "at the end"),
        ("app*/x", "at the end"),
    ],
)
def test_validate_trigger_name_rejects(name, fragment):
    with pytest.raises(ValueError) as info:
        validate_trigger_name(name)
    assert fragment in str(info.value)


# --- matching_functions --------------------------------------------------------------------------


def test_matching_functions_exact_name():
    functions = [fn("a", on("app/user.created")), fn("b", on("app/user.deleted"))]
    assert ["app-a"] == ids(matching_functions(EVENT, functions))


@pytest.mark.parametrize("pattern", ["app/*", "app/user.*"])
def test_matching_functions_wildcards(pattern):
    assert ["app-w"] == ids(matching_functions(EVENT, [fn("w", on(pattern))]))


@pytest.mark.parametrize(
    "pattern", ["app/user.c*", "other/*", "app/user.created.*", "app", "app/user"]
)
def test_matching_functions_non_matching_patterns(pattern):
    assert [] == matching_functions(EVENT, [fn("w", on(pattern))])


def test_matching_functions_fans_out_once_per_function():
    functions = [
        fn("a", on("app/user.created"), on("app/*"), on("app/user.*")),
        fn("b", on("app/*")),
        fn("c", on("app/user.*"), on("app/user.created")),
    ]
    assert ["app-a", "app-b", "app-c"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_keeps_function_order():
    functions = [fn("z", on("app/*")), fn("a", on("app/user.created")), fn("m", on("app/user.*"))]
    assert ["app-z", "app-a", "app-m"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_expression_filters():
    functions = [
        fn("pro", on("app/user.created", "event.data.plan == 'pro'")),
        fn("free", on("app/user.created", "event.data.plan == 'free'")),
        fn("seats", on("app/*", "event.data.seats > 2.5")),
    ]
    assert ["app-pro", "app-seats"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_missing_field_is_null_in_expression():
    functions = [
        fn("none", on("app/user.created", "event.data.missing == null")),
        fn("eq", on("app/user.created", "event.data.missing == 'x'")),
    ]
    assert ["app-none"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_second_trigger_matches_when_first_filtered():
    functions = [
        fn(
            "a",
            on("app/user.created", "event.data.plan == 'free'"),
            on("app/*", "event.data.plan == 'pro'"),
        )
    ]
    assert ["app-a"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_blank_expression_means_no_filter():
    assert ["app-a"] == ids(matching_functions(EVENT, [fn("a", on("app/user.created", "  "))]))


@pytest.mark.parametrize(
    "expression",
    [
        "event.data.plan ==",  # does not parse
        "event.data.plan == pro",  # unknown variable
        "async.data.x == 1",  # async is not available to triggers
        "event.data.plan > 1",  # fails to evaluate
        "event.data.seats",  # not a bool
    ],
)
def test_matching_functions_expression_error_skips_trigger_and_warns(expression, caplog):
    functions = [fn("bad", on("app/user.created", expression)), fn("ok", on("app/*"))]
    with caplog.at_level(logging.WARNING, logger="temporal_worker._matching"):
        result = matching_functions(EVENT, functions)
    assert ["app-ok"] == ids(result)
    records = [r for r in caplog.records if r.name == "temporal_worker._matching"]
    assert 1 == len(records)
    message = records[0].getMessage()
    assert "app-bad" in message
    assert expression in message
    assert (logging.WARNING, "app-bad", expression) == (
        records[0].levelno,
        records[0].function_id,
        records[0].expression,
    )


def test_matching_functions_expression_error_falls_through_to_other_trigger():
    functions = [fn("a", on("app/user.created", "event.data.plan > 1"), on("app/user.*"))]
    assert ["app-a"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_cron_only_never_matches():
    functions = [
        fn("cron", TriggerSpec(cron="0 * * * *")),
        fn("both", TriggerSpec(cron="0 * * * *"), on("app/user.created")),
    ]
    assert ["app-both"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_scheduled_timer_does_not_match_cron_trigger():
    timer = {"name": "inngest/scheduled.timer", "data": {"cron": "0 * * * *"}}
    assert [] == matching_functions(timer, [fn("cron", TriggerSpec(cron="0 * * * *"))])


def test_matching_functions_event_without_name():
    assert [] == matching_functions({"data": {}}, [fn("a", on("app/*"))])


def test_matching_functions_accepts_generator():
    functions = (f for f in [fn("a", on("app/*")), fn("b", on("x/y"))])
    assert ["app-a"] == ids(matching_functions(EVENT, functions))


def test_matching_functions_does_not_mutate_event():
    event = {"name": "app/user.created", "data": {}}
    matching_functions(event, [fn("a", on("app/*", "event.data.deep.x == null"))])
    assert {"name": "app/user.created", "data": {}} == event


# --- run_id --------------------------------------------------------------------------------------


def test_run_id_with_user_event_id():
    expected = "app-a:id:" + hashlib.sha256(b"order-1").hexdigest()[:32]
    assert expected == run_id("app-a", {"name": "x", "id": "order-1"}, "01HZZZ")


def test_run_id_is_deterministic_and_ignores_internal_id_when_user_id_set():
    event = {"name": "x", "id": "order-1"}
    assert run_id("app-a", event, "01AAA") == run_id("app-a", dict(event), "01BBB")


def test_run_id_differs_per_function_and_per_user_id():
    event = {"name": "x", "id": "order-1"}
    assert run_id("app-a", event, "i") != run_id("app-b", event, "i")
    assert run_id("app-a", event, "i") != run_id("app-a", {"name": "x", "id": "order-2"}, "i")


@pytest.mark.parametrize(
    "event", [{"name": "x"}, {"name": "x", "id": ""}, {"name": "x", "id": None}]
)
def test_run_id_without_user_id_uses_internal_id(event):
    assert "app-a:01HXYZ" == run_id("app-a", event, "01HXYZ")


def test_run_id_non_string_user_id():
    assert run_id("app-a", {"id": 42}, "i") == run_id("app-a", {"id": "42"}, "i")


@pytest.mark.parametrize("fn_id", ["app-" + "f" * 2000, "app-" + "日" * 900])
def test_run_id_stays_under_1000_bytes_and_deterministic(fn_id):
    for event in ({"id": "u" * 5000}, {}):
        first = run_id(fn_id, event, "01HXYZ")
        assert first == run_id(fn_id, event, "01HXYZ")
        assert len(first.encode()) < 1000


def test_run_id_long_function_ids_sharing_a_prefix_differ():
    a = run_id("app-" + "f" * 2000 + "a", {}, "i")
    b = run_id("app-" + "f" * 2000 + "b", {}, "i")
    assert a != b


def test_run_id_long_internal_id_stays_short():
    assert len(run_id("app-a", {}, "x" * 5000)) < 1000


@pytest.mark.parametrize(("fn_id", "internal"), [("", "01H"), ("app-a", "")])
def test_run_id_rejects_empty_ids(fn_id, internal):
    with pytest.raises(ValueError):
        run_id(fn_id, {}, internal)
