"""Event key and signing key checks (pure; production mode only, dev mode is open)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Final

from . import _errors, _settings

_SIGNING_KEY_PREFIX: Final = re.compile(r"^signkey-\w+-")


def check_event_key(event_key: str, settings: _settings.Settings) -> None:
    """Raise `UnauthorizedError` unless the event key may send events under these settings."""
    if settings.mode == "dev":
        return
    if not event_key.strip():
        raise _errors.UnauthorizedError("Event key is required")
    if not any(_same(event_key, allowed) for allowed in settings.event_keys):
        raise _errors.UnauthorizedError("Event key not found")


def strip_signing_key_prefix(key: str) -> str:
    """`signkey-prod-abc123` -> `abc123` (keys without the prefix are returned unchanged)."""
    return _SIGNING_KEY_PREFIX.sub("", key, count=1)


def hash_signing_key(key: str) -> str | None:
    """The token SDKs send for a signing key: sha256 of its hex-decoded body (None if not hex)."""
    try:
        raw = bytes.fromhex(strip_signing_key_prefix(key))
    except ValueError:
        return None
    return hashlib.sha256(raw).hexdigest()


def signing_key_matches(token: str, signing_keys: Iterable[str]) -> bool:
    """True if a bearer token is one of the signing keys, raw or hashed, with or without prefix.

    Inngest SDKs send `sha256(hex-decoded key)`; the JS SDK keeps the `signkey-<env>-` prefix, the
    Python SDK does not. A raw key is accepted too, as Inngest's server does.
    """
    body = strip_signing_key_prefix(token.strip())
    if not body:
        return False
    for key in signing_keys:
        candidates = [strip_signing_key_prefix(key)]
        hashed = hash_signing_key(key)
        if hashed is not None:
            candidates.append(hashed)
        if any(_same(body, candidate) for candidate in candidates):
            return True
    return False


def check_bearer(authorization: str | None, settings: _settings.Settings) -> None:
    """Raise `UnauthorizedError` unless the `Authorization` header carries a signing key."""
    if settings.mode == "dev":
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _errors.UnauthorizedError(
            "Authorization: Bearer <signing key> is required", field="Authorization"
        )
    if not signing_key_matches(token, settings.signing_keys):
        raise _errors.UnauthorizedError(
            "signing key not recognised: send one of GATEWAY_SIGNING_KEYS (raw or hashed)",
            field="Authorization",
        )


def _same(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
