"""Pure pieces of the SDK wire protocol: durations, signatures, sync payloads, reported ops."""

from __future__ import annotations

import datetime
import hashlib
import hmac

import pytest

from temporal_worker import _http_executor, _sdk_protocol

KEY = "signkey-test-" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("1m30s", 90.0), ("2h45m", 9900.0), ("1w", 604800.0), ("500ms", 0.5), ("1d", 86400.0), (1500, 1.5)],
)
def test_sdk_protocol_parse_duration(text: object, seconds: float) -> None:
    assert seconds == _sdk_protocol.parse_duration(text, what="x")


@pytest.mark.parametrize("text", ["", "soon", "5 s", "1x", "s5", None, True])
def test_sdk_protocol_parse_duration_rejects_garbage_naming_it(text: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        _sdk_protocol.parse_duration(text, what="timeout")


def test_sdk_protocol_parse_time_accepts_iso_with_z_and_rejects_durations() -> None:
    assert datetime.datetime(2026, 12, 3, 15, 25, 56, 457000, tzinfo=datetime.timezone.utc) == (
        _sdk_protocol.parse_time("2026-12-03T15:25:56.457Z")
    )
    assert None is _sdk_protocol.parse_time("1s")
    assert None is _sdk_protocol.parse_time(None)


def test_sdk_protocol_signature_is_hmac_of_body_and_time_with_the_key_minus_prefix() -> None:
    body = b'{"a":1}'
    expected = hmac.new(("ab" * 32).encode(), body + b"1700000000", hashlib.sha256).hexdigest()
    assert f"t=1700000000&s={expected}" == _sdk_protocol.sign(body, KEY, now=1700000000)


def test_sdk_protocol_verify_signature_uses_the_canonical_body_and_any_key() -> None:
    canonical = _sdk_protocol.canonical_json({"b": 1, "a": [1, 2]})
    assert b'{"a":[1,2],"b":1}' == canonical
    header = _sdk_protocol.sign(canonical, KEY, now=1000)
    pretty = b'{ "b": 1, "a": [1, 2] }'
    assert _sdk_protocol.verify_signature(pretty, header, ["signkey-test-00", KEY], now=1000)
    assert not _sdk_protocol.verify_signature(pretty, header, ["signkey-test-00"], now=1000)
    assert not _sdk_protocol.verify_signature(pretty, header, [KEY], now=1000 + 3600)
    assert not _sdk_protocol.verify_signature(pretty, None, [KEY], now=1000)
    assert not _sdk_protocol.verify_signature(pretty, "garbage", [KEY], now=1000)


def _register(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "appname": "shop",
        "deploy_type": "ping",
        "url": "http://127.0.0.1:3000/api/inngest",
        "functions": [
            {
                "id": "shop-sync",
                "name": "Sync",
                "triggers": [{"event": "shop/x", "expression": "event.data.a == 1"}, {"cron": "*/5 * * * *"}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {"type": "http", "url": "http://127.0.0.1:3000/api/inngest?fnId=shop-sync&stepId=step"},
                        "retries": {"attempts": 2},
                    }
                },
            }
        ],
    }
    body.update(overrides)
    return body


def test_sdk_protocol_app_from_registration_keeps_ids_urls_retries_and_triggers() -> None:
    app = _sdk_protocol.app_from_registration(_register())
    assert ("shop", "http", "inngest:bridge") == (app.app_id, app.kind, app.task_queue)
    (fn,) = app.functions
    assert ("shop-sync", "Sync", 2, "inngest:bridge") == (fn.id, fn.name, fn.retries, fn.task_queue)
    assert "http://127.0.0.1:3000/api/inngest?fnId=shop-sync&stepId=step" == fn.url
    assert [("shop/x", "event.data.a == 1", None), (None, None, "*/5 * * * *")] == [
        (t.event, t.expression, t.cron) for t in fn.triggers
    ]
    assert None is fn.unsupported


def test_sdk_protocol_app_from_registration_accepts_the_js_spelling() -> None:
    body = _register()
    body["appName"] = body.pop("appname")
    body["deployType"] = body.pop("deploy_type")
    assert "shop" == _sdk_protocol.app_from_registration(body).app_id


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"appname": ""}, "appName"),
        ({"url": "ftp://x"}, "url"),
        ({"deploy_type": "connect"}, "deployType"),
        ({"functions": {}}, "functions must be a list"),
    ],
)
def test_sdk_protocol_app_from_registration_refuses_bad_payloads(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(_sdk_protocol.RegistrationError, match=message):
        _sdk_protocol.app_from_registration(_register(**overrides))


def test_sdk_protocol_flow_control_options_travel_with_the_function() -> None:
    body = _register()
    body["functions"][0]["debounce"] = {"period": "5s"}  # type: ignore[index]
    body["functions"][0]["cancel"] = [{"event": "a/b"}]  # type: ignore[index]
    (fn,) = _sdk_protocol.app_from_registration(body).functions
    assert {
        "debounce": {"period_s": 5.0, "key": None, "timeout_s": None},
        "cancel": [{"event": "a/b", "if_exp": None, "timeout_s": None}],
    } == fn.flow_control
    assert None is fn.unsupported


def test_http_executor_plans_map_sdk_ops_to_engine_kinds() -> None:
    sleep = _http_executor.plan_of(
        {"op": "Sleep", "id": "h1", "name": "2026-12-03T15:25:56.457Z", "displayName": "nap", "opts": None,
         "userland": {"id": "nap", "index": None}}
    )
    assert ("sleep", "nap", "h1", {"until": "2026-12-03T15:25:56.457000+00:00"}) == (
        sleep["kind"], sleep["id"], sleep["hashed"], sleep["opts"]
    )
    js_sleep = _http_executor.plan_of({"op": "Sleep", "id": "h2", "name": "1m30s", "displayName": "nap"})
    assert {"seconds": 90.0} == js_sleep["opts"]
    wait = _http_executor.plan_of(
        {"op": "WaitForEvent", "id": "h3", "name": "t/other", "displayName": "w",
         "opts": {"if": "event.data.id == async.data.id", "timeout": "1m"}}
    )
    assert {"event": "t/other", "if_exp": "event.data.id == async.data.id", "timeout_seconds": 60.0} == wait["opts"]
    invoke = _http_executor.plan_of(
        {"op": "InvokeFunction", "id": "h4", "displayName": "inv", "userland": {"id": "inv", "index": 2},
         "opts": {"function_id": "app-other", "payload": {"data": {"k": 1}, "v": None}, "timeout": None}}
    )
    assert ("invoke", "inv:2") == (invoke["kind"], invoke["id"])
    assert {"function_id": "app-other", "data": {"k": 1}, "timeout_seconds": None, "v": None} == invoke["opts"]
    bad = _http_executor.plan_of({"op": "WaitForEvent", "id": "h5", "displayName": "w", "opts": {}})
    assert "StepOpError" == bad["error"]["name"]


def test_http_executor_retry_after_accepts_seconds_and_timestamps_clamped() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert 5.0 == _http_executor.retry_after_seconds("5", now=now)
    assert 1.0 == _http_executor.retry_after_seconds("0", now=now)
    assert 2.5 == _http_executor.retry_after_seconds("2026-01-01T00:00:02.500Z", now=now)
    assert 86400.0 == _http_executor.retry_after_seconds("2027-01-01T00:00:00Z", now=now)
    assert None is _http_executor.retry_after_seconds(None, now=now)
    assert None is _http_executor.retry_after_seconds("whenever", now=now)


def test_sdk_protocol_flow_control_options_translate_to_the_registry_form() -> None:
    fn = {
        "concurrency": [{"limit": 2, "key": "event.data.user", "scope": "env"}],
        "throttle": {"limit": 1, "period": "10s", "burst": 2, "key": "k"},
        "debounce": {"period": "5s", "key": "event.data.id", "timeout": "1m"},
        "singleton": {"key": "event.data.u", "mode": "skip"},
        "cancel": [{"event": "a/cancel", "if": "event.data.id == async.data.id", "timeout": "1h"}],
        "timeouts": {"start": "30s", "finish": "5m"},
        "idempotency": "event.data.id",
    }
    assert {
        "concurrency": [{"limit": 2, "key": "event.data.user", "scope": "env"}],
        "throttle": {"limit": 1, "period_s": 10.0, "burst": 2, "key": "k"},
        "debounce": {"period_s": 5.0, "key": "event.data.id", "timeout_s": 60.0},
        "singleton": {"key": "event.data.u", "mode": "skip"},
        "cancel": [{"event": "a/cancel", "if_exp": "event.data.id == async.data.id", "timeout_s": 3600.0}],
        "timeouts": {"start_s": 30.0, "finish_s": 300.0},
        "rate_limit": {"limit": 1, "period_s": 86400.0, "key": "event.data.id"},
        "idempotency": "event.data.id",
    } == _sdk_protocol.flow_control_of("f", fn)
    assert {"concurrency": [{"limit": 3, "key": None, "scope": "fn"}]} == _sdk_protocol.flow_control_of(
        "f", {"concurrency": 3}
    )
    assert {} == _sdk_protocol.flow_control_of("f", {"cancel": [], "concurrency": []})


def test_sdk_protocol_bad_flow_control_durations_are_refused_at_sync() -> None:
    body = _register()
    body["functions"][0]["debounce"] = {"period": "soon"}  # type: ignore[index]
    with pytest.raises(_sdk_protocol.RegistrationError, match="debounce.period"):
        _sdk_protocol.app_from_registration(body)
