"""create_function refuses invalid start-time flow-control values and combinations, naming the
option and the rule (reference sections 0 and 1.20)."""

from __future__ import annotations

import datetime

import pytest

from compat import inngest

TRIGGER = inngest.TriggerEvent(event="app/x")
S = datetime.timedelta(seconds=1)


def create(**options: object) -> dict:
    client = inngest.Inngest(app_id="app", is_production=False)
    return client.create_function(fn_id="f", trigger=TRIGGER, **options)(lambda ctx: None).flow_control


def test_flow_options_rate_limit_into_config() -> None:
    assert {"limit": 5, "period_s": 86400.0, "key": "event.data.k"} == create(
        rate_limit=inngest.RateLimit(limit=5, period=datetime.timedelta(hours=24), key="event.data.k")
    )["rate_limit"]


def test_flow_options_idempotency_is_a_rate_limit_of_1_per_day_replacing_rate_limit() -> None:
    config = create(idempotency="event.data.cart", rate_limit=inngest.RateLimit(limit=9, period=60 * S))
    assert {"limit": 1, "period_s": 86400.0, "key": "event.data.cart"} == config["rate_limit"]
    assert "event.data.cart" == config["idempotency"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate_limit": inngest.RateLimit(limit=0, period=60 * S)}, "rate_limit limit must be >= 1"),
        ({"rate_limit": inngest.RateLimit(limit=1, period=25 * 3600 * S)}, "rate_limit period must be between 1s and 86400s"),
        ({"rate_limit": inngest.RateLimit(limit=1, period=1500)}, "rate_limit period must be a whole number of seconds"),
        ({"rate_limit": inngest.RateLimit(limit=1, period=60 * S, key=" ")}, "rate_limit key must be a non-empty expression"),
        ({"idempotency": ""}, "idempotency must be a non-empty key expression"),
        ({"debounce": inngest.Debounce(period=8 * 86400 * S)}, "debounce period must be between 1s and 604800s"),
        ({"debounce": inngest.Debounce(period=500)}, "debounce period must be between 1s"),
        ({"debounce": inngest.Debounce(period=2 * S, timeout=500)}, "debounce timeout must be between 1s"),
        ({"batch_events": inngest.Batch(max_size=1, timeout=S)}, "batch_events max_size must be between 2 and 100"),
        ({"batch_events": inngest.Batch(max_size=101, timeout=S)}, "batch_events max_size must be between 2 and 100"),
        ({"batch_events": inngest.Batch(max_size=2)}, "batch_events needs a timeout"),
        ({"batch_events": inngest.Batch(max_size=2, timeout=61 * S)}, "batch_events timeout must be between 1s and 60s"),
        ({"batch_events": inngest.Batch(max_size=2, timeout=S), "debounce": inngest.Debounce(period=S)}, "batch_events cannot be combined with debounce"),
        ({"batch_events": inngest.Batch(max_size=2, timeout=S), "rate_limit": inngest.RateLimit(limit=1, period=S)}, "batch_events cannot be combined with rate_limit"),
        ({"batch_events": inngest.Batch(max_size=2, timeout=S), "idempotency": "event.id"}, "batch_events cannot be combined with rate_limit"),
        ({"batch_events": inngest.Batch(max_size=2, timeout=S), "singleton": inngest.Singleton(mode="skip")}, "batch_events cannot be combined with singleton"),
    ],
)
def test_flow_options_refused_with_the_option_and_rule(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match="create_function\\(fn_id='f'\\)") as info:
        create(**options)
    assert message in str(info.value)


def test_flow_options_accepted_combinations() -> None:
    config = create(
        debounce=inngest.Debounce(period=2 * S, key="event.data.k", timeout=10 * S),
        idempotency="event.data.k",
    )
    assert {"period_s": 2.0, "key": "event.data.k", "timeout_s": 10.0} == config["debounce"]
    config = create(
        singleton=inngest.Singleton(mode="cancel", key="event.data.k"),
        rate_limit=inngest.RateLimit(limit=3, period=60 * S),
    )
    assert {"key": "event.data.k", "mode": "cancel"} == config["singleton"]
    config = create(debounce=inngest.Debounce(period=S), singleton=inngest.Singleton(mode="skip"))
    assert {"key": None, "mode": "skip"} == config["singleton"]
    config = create(batch_events=inngest.Batch(max_size=3, timeout=2 * S, key="event.data.k", if_exp="event.data.b"))
    assert {"max_size": 3, "timeout_s": 2.0, "key": "event.data.k", "if_exp": "event.data.b"} == config["batch_events"]
