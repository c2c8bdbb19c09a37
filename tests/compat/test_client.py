"""`inngest.Inngest`: create_function's checks, and send / send_sync against a real local HTTP server."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from compat import inngest
from compat._internal import const, errors

TRIGGER = inngest.TriggerEvent(event="app/test")


# --- a tiny event API ---------------------------------------------------------------------------------


class EventAPI:
    """Records every request; answers scripted (status, body) pairs, then `{"ids": [...], "status": 200}`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw) if raw else None
                with api._lock:
                    api.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    n = len(api.requests)
                    status, answer = api.answers.pop(0) if api.answers else (200, None)
                if answer is None:
                    count = len(body) if isinstance(body, list) else 1
                    answer = {"ids": [f"id-{n}-{i}" for i in range(count)], "status": status}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


@pytest.fixture
def event_api() -> Iterator[EventAPI]:
    api = EventAPI()
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in const.EnvKey:
        monkeypatch.delenv(key.value, raising=False)


def closed_port_url() -> str:
    """A local URL nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def one_event() -> inngest.Event:
    return inngest.Event(name="app/user.created", data={"id": 7})


async def send_both_ways(client: inngest.Inngest, events: Any) -> tuple[list[str], list[str]]:
    return await client.send(events), client.send_sync(events)


# --- create_function -----------------------------------------------------------------------------------

FLOW_CONTROL = {
    "batch_events": inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=5)),
    "cancel": [inngest.Cancel(event="app/cancelled", if_exp="async.data.id == event.data.id")],
    "concurrency": [inngest.Concurrency(limit=1, key="event.data.id")],
    "debounce": inngest.Debounce(period=datetime.timedelta(seconds=10)),
    "idempotency": "event.data.id",
    "priority": inngest.Priority(run="event.data.priority"),
    "rate_limit": inngest.RateLimit(limit=1, period=datetime.timedelta(minutes=1)),
    "singleton": inngest.Singleton(mode="skip"),
    "throttle": inngest.Throttle(limit=1, period=1000),
    "timeouts": inngest.Timeouts(finish=datetime.timedelta(minutes=5)),
}


def test_client_flow_control_options_are_all_covered() -> None:
    from compat._internal import function

    assert sorted(function.FLOW_CONTROL_OPTIONS) == sorted(FLOW_CONTROL)


def _supported() -> frozenset[str]:
    from compat._internal import function

    return function.SUPPORTED_OPTIONS


def test_client_every_flow_control_option_is_enforced_or_refused() -> None:
    """No option may be a silent no-op: each is enforced (supported) or refused at create_function."""
    from compat._internal import function

    unsupported = set(function.FLOW_CONTROL_OPTIONS) - set(function.SUPPORTED_OPTIONS)
    client = inngest.Inngest(app_id="app")
    for option in sorted(unsupported):
        with pytest.raises(errors.UnsupportedOptionError) as info:
            client.create_function(fn_id="f", trigger=TRIGGER, **{option: FLOW_CONTROL[option]})
        assert option == info.value.option
    assert set(function.FLOW_CONTROL_OPTIONS) == unsupported | set(function.SUPPORTED_OPTIONS)
    assert [] == client.functions


@pytest.mark.parametrize("option", sorted(_supported()))
def test_client_create_function_accepts_supported_option_into_flow_config(option: str) -> None:
    client = inngest.Inngest(app_id="app")
    fn = client.create_function(fn_id="f", trigger=TRIGGER, **{option: FLOW_CONTROL[option]})(
        lambda ctx: None
    )
    assert option in fn.flow_control


@pytest.mark.parametrize("option", ["cancel", "concurrency"])
def test_client_create_function_accepts_empty_list_options(option: str) -> None:
    client = inngest.Inngest(app_id="app")
    fn = client.create_function(fn_id="f", trigger=TRIGGER, **{option: []})(lambda ctx: None)
    assert "app-f" == fn.id


@pytest.mark.parametrize("retries", [-1, "3", 1.5, True])
def test_client_create_function_refuses_bad_retries(retries: Any) -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(ValueError) as info:
        client.create_function(fn_id="f", trigger=TRIGGER, retries=retries)(lambda ctx: None)
    assert f"got {retries!r}" in str(info.value)
    assert "retries" in str(info.value)


@pytest.mark.parametrize(("retries", "expected"), [(None, 4), (0, 0), (3, 3), (20, 20), (50, 20)])
def test_client_create_function_retries(retries: int | None, expected: int) -> None:
    client = inngest.Inngest(app_id="app")
    fn = client.create_function(fn_id="f", trigger=TRIGGER, retries=retries)(lambda ctx: None)
    assert expected == fn.retries


def test_client_create_function_refuses_empty_trigger_list() -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(ValueError, match=r"fn_id='f'.*trigger must not be empty"):
        client.create_function(fn_id="f", trigger=[])


@pytest.mark.parametrize(
    "trigger",
    ["app/test", {"event": "app/test"}, [TRIGGER, "app/other"], None],
)
def test_client_create_function_refuses_wrong_trigger_types(trigger: Any) -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(TypeError) as info:
        client.create_function(fn_id="f", trigger=trigger)
    bad = trigger[-1] if isinstance(trigger, list) else trigger
    assert repr(bad) in str(info.value)
    assert type(bad).__name__ in str(info.value)
    assert "inngest.TriggerEvent or inngest.TriggerCron" in str(info.value)


def test_client_create_function_refuses_more_than_ten_triggers() -> None:
    client = inngest.Inngest(app_id="app")
    triggers = [inngest.TriggerEvent(event=f"app/e{i}") for i in range(11)]
    with pytest.raises(ValueError, match="at most 10 triggers are allowed, got 11"):
        client.create_function(fn_id="f", trigger=triggers)


def test_client_create_function_keeps_triggers_and_registers() -> None:
    client = inngest.Inngest(app_id="app")
    cron = inngest.TriggerCron(cron="*/5 * * * *")
    fn = client.create_function(fn_id="f", name="Nice name", trigger=[TRIGGER, cron])(lambda ctx: None)
    assert ("app-f", "f", "Nice name") == (fn.id, fn.local_id, fn.name)
    assert [TRIGGER, cron] == fn.triggers
    assert [fn] == client.functions


def test_client_create_function_refuses_empty_fn_id() -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(ValueError, match="fn_id must be a non-empty string"):
        client.create_function(fn_id="", trigger=TRIGGER)(lambda ctx: None)


@pytest.mark.parametrize("app_id", ["", None, 3])
def test_client_refuses_bad_app_id(app_id: Any) -> None:
    with pytest.raises(ValueError, match=f"got {app_id!r}"):
        inngest.Inngest(app_id=app_id)


async def _async_handler(ctx: inngest.Context) -> None:
    return None


def _sync_handler(ctx: inngest.ContextSync) -> None:
    return None


@pytest.mark.parametrize(
    ("handler", "on_failure", "kind"),
    [(_async_handler, _sync_handler, "an async"), (_sync_handler, _async_handler, "a non-async")],
)
def test_client_on_failure_of_the_other_kind_is_refused(handler: Any, on_failure: Any, kind: str) -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(ValueError) as info:
        client.create_function(fn_id="f", trigger=TRIGGER, on_failure=on_failure)(handler)
    assert f"{kind} function cannot have an on_failure handler of the other kind" in str(info.value)
    assert "'f'" in str(info.value)


@pytest.mark.parametrize(("handler", "is_async"), [(_async_handler, True), (_sync_handler, False)])
def test_client_on_failure_of_the_same_kind(handler: Any, is_async: bool) -> None:
    client = inngest.Inngest(app_id="app")
    fn = client.create_function(fn_id="f", trigger=TRIGGER, on_failure=handler)(handler)
    assert "app-f-failure" == fn.on_failure_fn_id
    assert is_async is fn.is_on_failure_handler_async
    failure = fn.on_failure_function
    assert failure is not None and failure.is_on_failure
    assert 0 == failure.retries
    assert [
        inngest.TriggerEvent(event="inngest/function.failed", expression="event.data.function_id == 'app-f'")
    ] == failure.triggers


# --- origin and event key resolution ------------------------------------------------------------------


def test_client_defaults_to_the_local_gateway_in_dev_mode() -> None:
    client = inngest.Inngest(app_id="app")
    assert "http://127.0.0.1:8288" == client.event_api_origin == client.api_origin
    assert client.is_production is False
    assert client.event_key is None


@pytest.mark.parametrize("flag", ["1", "true", "TRUE"])
def test_client_inngest_dev_flag_is_dev_mode_with_default_origin(
    monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.setenv("INNGEST_DEV", flag)
    client = inngest.Inngest(app_id="app")
    assert "http://127.0.0.1:8288" == client.event_api_origin
    assert client.is_production is False


async def test_client_sends_without_key_as_no_event_key_set(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    monkeypatch.setenv("INNGEST_DEV", "1")
    monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", event_api.url)
    ids = await send_both_ways(inngest.Inngest(app_id="app"), one_event())
    assert (["id-1-0"], ["id-2-0"]) == ids
    assert ["/e/NO_EVENT_KEY_SET", "/e/NO_EVENT_KEY_SET"] == event_api.paths
    assert const.DEV_EVENT_KEY == "NO_EVENT_KEY_SET"


async def test_client_inngest_dev_url_sets_origin(monkeypatch: pytest.MonkeyPatch, event_api: EventAPI) -> None:
    monkeypatch.setenv("INNGEST_DEV", event_api.url + "/")
    client = inngest.Inngest(app_id="app")
    assert client.is_production is False
    assert event_api.url == client.event_api_origin == client.api_origin
    await send_both_ways(client, one_event())
    assert ["/e/NO_EVENT_KEY_SET"] * 2 == event_api.paths


async def test_client_inngest_base_url_sets_both_origins(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    monkeypatch.setenv("INNGEST_BASE_URL", event_api.url)
    client = inngest.Inngest(app_id="app")
    assert event_api.url == client.event_api_origin == client.api_origin
    await send_both_ways(client, one_event())
    assert 2 == len(event_api.requests)


async def test_client_inngest_base_url_beats_inngest_dev_url(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    monkeypatch.setenv("INNGEST_DEV", closed_port_url())
    monkeypatch.setenv("INNGEST_BASE_URL", event_api.url)
    await send_both_ways(inngest.Inngest(app_id="app"), one_event())
    assert 2 == len(event_api.requests)


async def test_client_event_api_base_url_beats_base_url(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    elsewhere = closed_port_url()
    monkeypatch.setenv("INNGEST_BASE_URL", elsewhere)
    monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", event_api.url)
    client = inngest.Inngest(app_id="app")
    assert (event_api.url, elsewhere) == (client.event_api_origin, client.api_origin)
    await send_both_ways(client, one_event())
    assert 2 == len(event_api.requests)


async def test_client_constructor_url_beats_environment(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", closed_port_url())
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    await send_both_ways(client, one_event())
    assert 2 == len(event_api.requests)


async def test_client_event_key_from_environment(monkeypatch: pytest.MonkeyPatch, event_api: EventAPI) -> None:
    monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", event_api.url)
    monkeypatch.setenv("INNGEST_EVENT_KEY", "key-from-env")
    client = inngest.Inngest(app_id="app")
    assert "key-from-env" == client.event_key
    await send_both_ways(client, one_event())
    assert ["/e/key-from-env"] * 2 == event_api.paths


async def test_client_event_key_argument_beats_environment(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI
) -> None:
    monkeypatch.setenv("INNGEST_EVENT_KEY", "key-from-env")
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url, event_key="key-arg")
    await send_both_ways(client, one_event())
    assert ["/e/key-arg"] * 2 == event_api.paths


@pytest.mark.parametrize("flag", ["0", "false"])
async def test_client_production_mode_needs_an_event_key(
    monkeypatch: pytest.MonkeyPatch, event_api: EventAPI, flag: str
) -> None:
    monkeypatch.setenv("INNGEST_DEV", flag)
    monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", event_api.url)
    client = inngest.Inngest(app_id="app")
    assert client.is_production is True
    with pytest.raises(errors.Error, match="INNGEST_EVENT_KEY"):
        await client.send(one_event())
    with pytest.raises(errors.Error, match="INNGEST_EVENT_KEY"):
        client.send_sync(one_event())
    assert [] == event_api.requests

    monkeypatch.setenv("INNGEST_EVENT_KEY", "prod-key")
    await send_both_ways(inngest.Inngest(app_id="app"), one_event())
    assert ["/e/prod-key"] * 2 == event_api.paths


def test_client_is_production_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "1")
    client = inngest.Inngest(app_id="app", is_production=True)
    with pytest.raises(errors.Error, match="event key"):
        client.send_sync(one_event())


def test_client_signing_keys_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "signkey-test-1")
    monkeypatch.setenv("INNGEST_SIGNING_KEY_FALLBACK", "signkey-test-0")
    client = inngest.Inngest(app_id="app")
    assert ("signkey-test-1", "signkey-test-0") == (client.signing_key, client.signing_key_fallback)


# --- what is sent, and what comes back ---------------------------------------------------------------


async def test_client_send_body_and_headers(monkeypatch: pytest.MonkeyPatch, event_api: EventAPI) -> None:
    monkeypatch.setenv("INNGEST_ENV", "branch-1")
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    before = int(time.time() * 1000)
    ids = await client.send(
        [
            inngest.Event(name="app/a", data={"n": 1}),
            inngest.Event(name="app/b", id="my-id", ts=1234, v="2", user={"u": 1}),
        ]
    )
    after = int(time.time() * 1000)
    assert ["id-1-0", "id-1-1"] == ids
    (request,) = event_api.requests
    assert "branch-1" == request["headers"]["x-inngest-env"]
    assert "application/json" == request["headers"]["content-type"]
    first, second = request["body"]
    assert before <= first.pop("ts") <= after
    assert {"name": "app/a", "data": {"n": 1}} == first
    assert {"name": "app/b", "data": {}, "id": "my-id", "ts": 1234, "v": "2", "user": {"u": 1}} == second


def test_client_send_sync_single_event(event_api: EventAPI) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    assert ["id-1-0"] == client.send_sync(one_event())
    assert [{"name": "app/user.created", "data": {"id": 7}}] == [
        {k: v for k, v in e.items() if k != "ts"} for e in event_api.requests[0]["body"]
    ]
    assert "x-inngest-env" not in event_api.requests[0]["headers"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"at": datetime.datetime(2026, 1, 1)}, "Object of type datetime is not JSON serializable"),
        ({"x": float("nan")}, "Out of range float values are not JSON compliant"),
    ],
)
async def test_client_send_refuses_data_json_cannot_hold_naming_the_event(
    event_api: EventAPI, data: dict[str, Any], why: str
) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    events = [one_event(), inngest.Event(name="app/bad", data=data)]
    with pytest.raises(TypeError, match=rf"^event\[1\] \('app/bad'\) cannot be sent as JSON: {why}"):
        await client.send(events)
    with pytest.raises(TypeError, match=r"^event\[1\] \('app/bad'\)"):
        client.send_sync(events)
    assert [] == event_api.requests


def test_client_send_sync_sends_text_json_escapes(event_api: EventAPI) -> None:
    """Non-ASCII text goes as JSON escapes: a lone surrogate cannot be UTF-8 encoded (the API
    answers it with a 400 naming the field), and other text arrives as it was."""
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    client.send_sync(inngest.Event(name="app/text", data={"s": "a\ud800", "t": "h\u00e9 \U0001f600"}))
    assert {"s": "a\ud800", "t": "h\u00e9 \U0001f600"} == event_api.requests[0]["body"][0]["data"]


@pytest.mark.parametrize("bad", ["app/x", {"name": "app/x"}])
async def test_client_send_refuses_non_events(event_api: EventAPI, bad: Any) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    with pytest.raises(TypeError, match=f"got {type(bad).__name__}"):
        await client.send([one_event(), bad])
    with pytest.raises(TypeError, match=f"got {type(bad).__name__}"):
        client.send_sync(bad)
    assert [] == event_api.requests


async def test_client_send_400_raises_send_events_error_with_ids(event_api: EventAPI) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    event_api.answers = [
        (400, {"ids": ["ok-1"], "status": 400, "error": "event 2: name is required"}),
        (400, {"ids": ["ok-2"], "status": 400, "error": "event 2: name is required"}),
    ]
    with pytest.raises(errors.SendEventsError) as info:
        await client.send([one_event(), one_event()])
    assert ["ok-1"] == info.value.ids
    assert "HTTP 400" in str(info.value)
    assert "event 2: name is required" in str(info.value)
    with pytest.raises(errors.SendEventsError) as sync_info:
        client.send_sync([one_event(), one_event()])
    assert ["ok-2"] == sync_info.value.ids
    assert 2 == len(event_api.requests)  # a 4xx is not retried


async def test_client_send_error_body_without_json(event_api: EventAPI) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    event_api.answers = [(401, "not an object")]
    with pytest.raises(errors.SendEventsError) as info:
        await client.send(one_event())
    assert [] == info.value.ids
    assert "HTTP 401" in str(info.value)


async def test_client_send_retries_5xx(event_api: EventAPI) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    event_api.answers = [(500, {"error": "busy"}), (502, {"error": "busy"})]
    assert ["id-3-0"] == await client.send(one_event())
    event_api.answers = [(503, {"error": "busy"})]
    assert ["id-5-0"] == client.send_sync(one_event())
    assert 5 == len(event_api.requests)
    assert 1 == len({json.dumps(r["body"]) for r in event_api.requests[:3]})  # the same body each time
    # ... and the same event-id seed, so the gateway answers the same ids and starts no run twice
    seeds = [r["headers"]["x-inngest-event-id-seed"] for r in event_api.requests]
    assert seeds[0] == seeds[1] == seeds[2] and seeds[3] == seeds[4] and seeds[0] != seeds[3]
    millis, entropy = seeds[0].split(",")
    assert abs(int(millis) - time.time() * 1000) < 60_000 and len(base64.b64decode(entropy)) == 10


def test_client_send_gives_up_after_five_5xx(event_api: EventAPI) -> None:
    client = inngest.Inngest(app_id="app", event_api_base_url=event_api.url)
    event_api.answers = [(503, {"ids": [], "error": "down"})] * 5
    with pytest.raises(errors.SendEventsError, match="HTTP 503: down"):
        client.send_sync(one_event())
    assert 5 == len(event_api.requests)


async def test_client_send_connection_refused_raises_send_events_error() -> None:
    url = closed_port_url()
    client = inngest.Inngest(app_id="app", event_api_base_url=url)
    with pytest.raises(errors.SendEventsError) as info:
        await client.send(one_event())
    assert [] == info.value.ids
    assert f"{url}/e/NO_EVENT_KEY_SET" in str(info.value)


def test_client_send_events_error_is_a_compat_error() -> None:
    assert issubclass(errors.SendEventsError, errors.Error)
    assert issubclass(errors.UnsupportedOptionError, errors.Error)


def test_client_refuses_middleware_and_serializer_instead_of_ignoring_them() -> None:
    """Options compat cannot honour raise, naming the option; nothing is silently dropped."""
    with pytest.raises(errors.UnsupportedOptionError, match="'middleware'"):
        inngest.Inngest(app_id="a", middleware=[object()])
    with pytest.raises(errors.UnsupportedOptionError, match="'serializer'"):
        inngest.Inngest(app_id="a", serializer=object())
    client = inngest.Inngest(app_id="a")
    with pytest.raises(errors.UnsupportedOptionError, match="'middleware'"):
        client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event="a/b"), middleware=[object()])


@pytest.mark.parametrize(
    "options",
    [
        {"timeouts": inngest.Timeouts(finish=datetime.timedelta(seconds=-1))},
        {"timeouts": inngest.Timeouts(start=datetime.timedelta(seconds=-5))},
        {"cancel": [inngest.Cancel(event="")]},
        {"cancel": [inngest.Cancel(event="a/b", timeout=datetime.timedelta(seconds=-1))]},
    ],
)
def test_client_refuses_negative_timeouts_and_empty_cancel_event(options: dict[str, Any]) -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(ValueError, match="create_function\\(fn_id='f'\\)"):
        client.create_function(fn_id="f", trigger=TRIGGER, **options)


def test_client_refuses_a_second_function_with_the_same_fn_id() -> None:
    client = inngest.Inngest(app_id="app")
    client.create_function(fn_id="dup", trigger=inngest.TriggerEvent(event="dup/a"))(lambda ctx: "one")
    with pytest.raises(ValueError, match=r"create_function\(fn_id='dup'\): app 'app' has a function with this fn_id"):
        client.create_function(fn_id="dup", trigger=inngest.TriggerEvent(event="dup/b"))(lambda ctx: "two")
    assert ["app-dup"] == [fn.id for fn in client.functions]


def test_client_create_function_refuses_a_handler_that_is_not_callable() -> None:
    client = inngest.Inngest(app_id="app")
    with pytest.raises(TypeError, match=r"create_function\(fn_id='f'\) decorates a function, got int 42"):
        client.create_function(fn_id="f", trigger=TRIGGER)(42)  # type: ignore[arg-type]
