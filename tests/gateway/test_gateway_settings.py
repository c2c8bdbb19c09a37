"""`gateway.Settings`: environment names, defaults and checks."""

from __future__ import annotations

from collections.abc import Iterator

import pydantic
import pytest

import gateway

ENV_NAMES = [
    "GATEWAY_MODE",
    "GATEWAY_EVENT_KEYS",
    "GATEWAY_SIGNING_KEYS",
    "GATEWAY_MAX_BODY_BYTES",
    "GATEWAY_REGISTRY_TTL_SECONDS",
    "GATEWAY_TEMPORAL_ADDRESS",
    "GATEWAY_TEMPORAL_NAMESPACE",
    "GATEWAY_TEMPORAL_CONNECT_TIMEOUT_SECONDS",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    gateway.get_settings.cache_clear()
    yield
    gateway.get_settings.cache_clear()


def test_settings_defaults() -> None:
    settings = gateway.Settings()
    assert (
        "dev", [], [], 3 * 1024 * 1024, 1.0, "127.0.0.1:7233", "default", 30.0
    ) == (
        settings.mode,
        settings.event_keys,
        settings.signing_keys,
        settings.max_body_bytes,
        settings.registry_ttl_seconds,
        settings.temporal_address,
        settings.temporal_namespace,
        settings.temporal_connect_timeout_seconds,
    )  # fmt: skip


def test_settings_reads_gateway_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_MODE", "production")
    monkeypatch.setenv("GATEWAY_EVENT_KEYS", " ek-1, ek-2 ,,")
    monkeypatch.setenv("GATEWAY_SIGNING_KEYS", "signkey-prod-00ff")
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("GATEWAY_REGISTRY_TTL_SECONDS", "0.5")
    settings = gateway.Settings()
    assert ("production", ["ek-1", "ek-2"], ["signkey-prod-00ff"], 1024, 0.5) == (
        settings.mode,
        settings.event_keys,
        settings.signing_keys,
        settings.max_body_bytes,
        settings.registry_ttl_seconds,
    )


def test_settings_accepts_json_list_of_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_EVENT_KEYS", '["a", "b"]')
    assert ["a", "b"] == gateway.Settings().event_keys


def test_settings_temporal_falls_back_to_standard_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "inngest")
    settings = gateway.Settings()
    assert ("temporal:7233", "inngest") == (settings.temporal_address, settings.temporal_namespace)


def test_settings_gateway_prefixed_temporal_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("GATEWAY_TEMPORAL_ADDRESS", "other:7233")
    assert "other:7233" == gateway.Settings().temporal_address


def test_settings_fields_can_be_passed_by_name() -> None:
    settings = gateway.Settings(temporal_address="h:1", temporal_namespace="ns")
    assert ("h:1", "ns") == (settings.temporal_address, settings.temporal_namespace)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"signing_keys": ["s"]}, "GATEWAY_MODE=production needs GATEWAY_EVENT_KEYS"),
        ({"event_keys": ["e"]}, "GATEWAY_MODE=production needs GATEWAY_SIGNING_KEYS"),
    ],
)
def test_settings_production_needs_keys(kwargs: dict[str, list[str]], fragment: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=fragment):
        gateway.Settings(mode="production", **kwargs)


@pytest.mark.parametrize(
    ("name", "value"),
    [("GATEWAY_MODE", "staging"), ("GATEWAY_MAX_BODY_BYTES", "0"), ("GATEWAY_MAX_BODY_BYTES", "x")],
)
def test_settings_rejects_bad_values(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pydantic.ValidationError):
        gateway.Settings()


def test_get_settings_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    first = gateway.get_settings()
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "10")
    assert first is gateway.get_settings()
    gateway.get_settings.cache_clear()
    assert 10 == gateway.get_settings().max_body_bytes
