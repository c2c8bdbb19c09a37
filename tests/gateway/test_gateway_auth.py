"""Event keys and REST bearer auth: pure checks, and over HTTP in-process."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import gateway
from gateway import _auth

if TYPE_CHECKING:
    from gateway_support import RecordingRouter

SIGNING_KEY = "signkey-prod-0a1b2c3d4e5f"
SIGNING_KEY_HASH = hashlib.sha256(bytes.fromhex("0a1b2c3d4e5f")).hexdigest()
PRODUCTION = gateway.Settings(
    mode="production", event_keys=["ek-one", "ek-two"], signing_keys=[SIGNING_KEY, "plain-key"]
)


def test_strip_signing_key_prefix_removes_env_prefix() -> None:
    assert "0a1b" == _auth.strip_signing_key_prefix("signkey-branch-0a1b")
    assert "0a1b" == _auth.strip_signing_key_prefix("0a1b")


def test_hash_signing_key_is_sha256_of_hex_body() -> None:
    assert SIGNING_KEY_HASH == _auth.hash_signing_key(SIGNING_KEY)
    assert _auth.hash_signing_key("not-hex") is None


@pytest.mark.parametrize(
    "token",
    [
        SIGNING_KEY,  # raw key
        "0a1b2c3d4e5f",  # raw key without prefix
        SIGNING_KEY_HASH,  # Python SDK: bare hash
        f"signkey-prod-{SIGNING_KEY_HASH}",  # JS SDK: prefixed hash
        "plain-key",  # a non-hex key, raw
    ],
)
def test_signing_key_matches_raw_and_hashed_forms(token: str) -> None:
    assert _auth.signing_key_matches(token, PRODUCTION.signing_keys)


@pytest.mark.parametrize("token", ["", "signkey-prod-", "0a1b2c3d4e", "plain", "x" * 64])
def test_signing_key_matches_rejects_others(token: str) -> None:
    assert not _auth.signing_key_matches(token, PRODUCTION.signing_keys)


def test_check_event_key_dev_mode_accepts_anything() -> None:
    _auth.check_event_key("", gateway.Settings(mode="dev"))
    _auth.check_event_key("NO_EVENT_KEY_SET", gateway.Settings(mode="dev"))


@pytest.fixture
async def production_http(
    recording_router: RecordingRouter, make_http: Callable[..., Any]
) -> AsyncIterator[httpx.AsyncClient]:
    app = gateway.create_app(PRODUCTION, router=recording_router)
    async with make_http(app) as http:
        yield http


@pytest.mark.parametrize("key", ["ek-one", "ek-two"])
async def test_send_events_production_accepts_configured_keys(
    production_http: httpx.AsyncClient, recording_router: RecordingRouter, key: str
) -> None:
    response = await production_http.post(f"/e/{key}", json={"name": "a"})
    assert {"ids": ["evt-0"], "status": 200} == response.json()


@pytest.mark.parametrize("key", ["ek-three", "EK-ONE", "NO_EVENT_KEY_SET"])
async def test_send_events_production_rejects_unknown_key(
    production_http: httpx.AsyncClient, recording_router: RecordingRouter, key: str
) -> None:
    response = await production_http.post(f"/e/{key}", json={"name": "a"})
    assert 401 == response.status_code
    assert {"error": "Event key not found", "status": 401} == response.json()
    assert [] == recording_router.calls


@pytest.mark.parametrize("path", ["/e/", "/e", "/e/%20"])
async def test_send_events_production_requires_a_key(
    production_http: httpx.AsyncClient, recording_router: RecordingRouter, path: str
) -> None:
    response = await production_http.post(path, json={"name": "a"})
    assert 401 == response.status_code
    assert {"error": "Event key is required", "status": 401} == response.json()
    assert [] == recording_router.calls


async def test_send_events_production_checks_key_before_body(
    production_http: httpx.AsyncClient,
) -> None:
    response = await production_http.post("/e/wrong", content=b"not json")
    assert 401 == response.status_code


REST_PATHS = [
    ("GET", "/v1/runs/some-run"),
    ("DELETE", "/v1/runs/some-run"),
    ("GET", "/v1/events/some-event/runs"),
]


@pytest.mark.parametrize(("method", "path"), REST_PATHS)
@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "Authorization: Bearer <signing key> is required"),
        ({"Authorization": f"Basic {SIGNING_KEY}"}, "Authorization: Bearer <signing key>"),
        ({"Authorization": "Bearer nope"}, "signing key not recognised"),
    ],
)
async def test_rest_production_rejects_missing_or_unknown_signing_key(
    production_http: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    error: str,
) -> None:
    response = await production_http.request(method, path, headers=headers)
    assert 401 == response.status_code
    body = response.json()
    assert (401, "Authorization") == (body["status"], body["field"])
    assert body["error"].startswith(error)


@pytest.mark.parametrize(("method", "path"), REST_PATHS)
@pytest.mark.parametrize("token", [SIGNING_KEY, SIGNING_KEY_HASH])
async def test_rest_production_accepts_signing_key(
    production_http: httpx.AsyncClient, method: str, path: str, token: str
) -> None:
    """Past auth, the app without a lifespan has no Temporal client: 503, not 401."""
    response = await production_http.request(
        method, path, headers={"Authorization": f"Bearer {token}"}
    )
    assert 503 == response.status_code
    assert "not connected to Temporal" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), REST_PATHS)
async def test_rest_dev_mode_needs_no_signing_key(
    dev_http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await dev_http.request(method, path)
    assert 503 == response.status_code
