"""Pure pieces of Inngest's SDK wire protocol, shared by the gateway and the bridge worker.

- `app_from_registration`: an SDK's sync payload (`POST /fn/register` or an in-band PUT reply) ->
  the AppSpec the registry stores, with its functions on the bridge task queue.
- `sign` / `verify_signature`: `X-Inngest-Signature: t=<unix s>&s=<hex>`, HMAC-SHA256 over the
  JCS-canonical body plus `t`, keyed with the signing key minus its `signkey-<env>-` prefix.
- `parse_duration`: Inngest duration strings ("5s", "1m30s", "2h45m", "1w").
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from typing import Any, Final

import jcs

from . import _models

DEFAULT_RETRIES: Final = 4  # Inngest's default when a function does not say: 5 attempts
SIGNING_KEY_PREFIX: Final = re.compile(r"^signkey-\w+-")
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|w|d|h|m|s)")
_UNITS: Final = {
    "w": 604800.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}


class RegistrationError(ValueError):
    """A sync payload we cannot accept; the message names the field, `field` too when it is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value: what SDKs recompute to check a signature."""
    return bytes(jcs.canonicalize(value))


def strip_key_prefix(key: str) -> str:
    return SIGNING_KEY_PREFIX.sub("", key.strip(), count=1)


def signature(body: bytes, key: str, timestamp: int) -> str:
    mac = hmac.new(strip_key_prefix(key).encode(), body + str(timestamp).encode(), hashlib.sha256)
    return mac.hexdigest()


def sign(body: bytes, key: str, *, now: float | None = None) -> str:
    """The `X-Inngest-Signature` header value for `body` (already canonical)."""
    t = int(time.time() if now is None else now)
    return f"t={t}&s={signature(body, key, t)}"


def verify_signature(
    body: bytes,
    header: str | None,
    keys: Iterable[str],
    *,
    now: float | None = None,
    max_age: float = 300.0,
) -> bool:
    """True if `header` signs `body` (as canonical JSON when it parses) with one of `keys`."""
    if not header:
        return False
    parts = dict(p.partition("=")[::2] for p in header.split("&"))
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    given = parts.get("s", "")
    if max_age and abs((time.time() if now is None else now) - t) > max_age:
        return False
    candidates = [body]
    try:
        import json

        candidates.append(canonical_json(json.loads(body)))
    except ValueError:
        pass
    return any(
        hmac.compare_digest(signature(raw, key, t), given) for key in keys for raw in candidates
    )


def hash_step_id(step_id: str) -> str:
    return hashlib.sha1(step_id.encode("utf-8")).hexdigest()


def parse_duration(value: Any, *, what: str) -> float:
    """Seconds in an Inngest duration: "30s", "1m30s", "2h45m", "1w", or a number of ms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / 1000.0
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: {value!r} is not a duration like '30s' or '1h30m'")
    text = value.strip()
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{what}: {value!r} is not a duration like '30s' or '1h30m'")
    return total


def parse_time(value: Any) -> datetime.datetime | None:
    """An ISO-8601 timestamp (as SDKs send for sleep_until), or None if `value` is not one."""
    if not isinstance(value, str) or len(value) < 10 or not value[:4].isdigit():
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _field(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in body:
            return body[name]
    lowered = {k.lower(): v for k, v in body.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _triggers(fn_id: str, raw: Any) -> list[_models.TriggerSpec]:
    if not isinstance(raw, list) or not raw:
        raise RegistrationError(f"function {fn_id!r}: triggers must be a non-empty list")
    out = []
    for i, t in enumerate(raw):
        if not isinstance(t, dict):
            raise RegistrationError(f"function {fn_id!r}: triggers[{i}] must be an object")
        if t.get("event"):
            out.append(_models.TriggerSpec(event=str(t["event"]), expression=t.get("expression") or None))
        elif t.get("cron"):
            jitter = t.get("jitter")
            out.append(
                _models.TriggerSpec(
                    cron=str(t["cron"]),
                    jitter_seconds=None if not jitter else parse_duration(jitter, what="cron jitter"),
                )
            )
        else:
            raise RegistrationError(
                f"function {fn_id!r}: triggers[{i}] has neither 'event' nor 'cron'"
            )
    return out


def _runtime(fn_id: str, fn: dict[str, Any]) -> tuple[str, int | None]:
    steps = fn.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise RegistrationError(f"function {fn_id!r}: steps must be an object with one step")
    step = steps.get("step") or next(iter(steps.values()))
    if not isinstance(step, dict):
        raise RegistrationError(f"function {fn_id!r}: steps.step must be an object")
    runtime = step.get("runtime") or {}
    url = runtime.get("url") if isinstance(runtime, dict) else None
    if runtime.get("type", "http") != "http":
        raise RegistrationError(
            f"function {fn_id!r}: runtime type {runtime.get('type')!r} is not supported "
            "(only 'http': serve the app over HTTP, Connect is not bridged)"
        )
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise RegistrationError(f"function {fn_id!r}: steps.step.runtime.url must be an http(s) URL")
    retries = step.get("retries")
    attempts = retries.get("attempts") if isinstance(retries, dict) else None
    if attempts is not None and (not isinstance(attempts, int) or attempts < 0):
        raise RegistrationError(f"function {fn_id!r}: retries.attempts must be an integer >= 0")
    return url, attempts





def _secs(value: Any, what: str) -> float | None:
    return None if value in (None, "") else parse_duration(value, what=what)


def flow_control_of(fn_id: str, fn: dict[str, Any]) -> dict[str, Any]:
    """An SDK function config's flow-control options in the registry's JSON form (`*_s` seconds),
    the form compat functions carry too."""
    out: dict[str, Any] = {}
    where = f"function {fn_id!r}"
    concurrency = fn.get("concurrency")
    if isinstance(concurrency, (int, dict)):
        concurrency = [concurrency]
    if concurrency:
        out["concurrency"] = [
            {"limit": c, "key": None, "scope": "fn"}
            if isinstance(c, int)
            else {"limit": int(c.get("limit", 0)), "key": c.get("key"), "scope": c.get("scope") or "fn"}
            for c in concurrency
        ]
    if isinstance(fn.get("throttle"), dict):
        t = fn["throttle"]
        out["throttle"] = {
            "limit": int(t.get("limit", 1)),
            "period_s": _secs(t.get("period"), f"{where} throttle.period"),
            "burst": int(t.get("burst") or 1),
            "key": t.get("key"),
        }
    if isinstance(fn.get("rateLimit"), dict):
        r = fn["rateLimit"]
        out["rate_limit"] = {
            "limit": int(r.get("limit", 1)),
            "period_s": _secs(r.get("period"), f"{where} rateLimit.period"),
            "key": r.get("key"),
        }
    if fn.get("idempotency"):
        out["rate_limit"] = {"limit": 1, "period_s": 86400.0, "key": fn["idempotency"]}
        out["idempotency"] = fn["idempotency"]
    if isinstance(fn.get("debounce"), dict):
        d = fn["debounce"]
        out["debounce"] = {
            "period_s": _secs(d.get("period"), f"{where} debounce.period"),
            "key": d.get("key"),
            "timeout_s": _secs(d.get("timeout"), f"{where} debounce.timeout"),
        }
    if isinstance(fn.get("batchEvents"), dict):
        b = fn["batchEvents"]
        out["batch_events"] = {
            "max_size": int(b.get("maxSize", 0)),
            "timeout_s": _secs(b.get("timeout"), f"{where} batchEvents.timeout"),
            "key": b.get("key"),
            "if_exp": b.get("if"),
        }
    if isinstance(fn.get("priority"), dict):
        out["priority"] = {"run": fn["priority"].get("run")}
    if isinstance(fn.get("singleton"), dict):
        out["singleton"] = {"key": fn["singleton"].get("key"), "mode": fn["singleton"].get("mode")}
    if fn.get("cancel"):
        out["cancel"] = [
            {
                "event": c.get("event"),
                "if_exp": c.get("if"),
                "timeout_s": _secs(c.get("timeout"), f"{where} cancel.timeout"),
            }
            for c in fn["cancel"]
            if isinstance(c, dict)
        ]
    if isinstance(fn.get("timeouts"), dict):
        t = fn["timeouts"]
        out["timeouts"] = {
            "start_s": _secs(t.get("start"), f"{where} timeouts.start"),
            "finish_s": _secs(t.get("finish"), f"{where} timeouts.finish"),
        }
    return out


def app_from_registration(body: Any) -> _models.AppSpec:
    """The AppSpec for an SDK's sync payload (`appname`/`appName`/`app_id`, `functions`, `url`)."""
    if not isinstance(body, dict):
        raise RegistrationError("the sync payload must be a JSON object")
    app_id = _field(body, "appname", "appName", "app_id")
    if not isinstance(app_id, str) or not app_id:
        raise RegistrationError("appName (or appname) must be a non-empty string")
    url = body.get("url")
    if url is None:
        raise RegistrationError("url is missing: give the app's http(s) serve URL", field="url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise RegistrationError(f"url must be the app's http(s) serve URL, got {url!r}", field="url")
    deploy_type = _field(body, "deployType", "deploy_type")
    if deploy_type not in (None, "ping"):
        raise RegistrationError(
            f"deployType {deploy_type!r} is not supported (only 'ping': apps served over HTTP)"
        )
    raw_functions = body.get("functions")
    if raw_functions is None:
        raw_functions = []
    if not isinstance(raw_functions, list):
        raise RegistrationError("functions must be a list")
    functions = []
    seen: set[str] = set()
    for i, fn in enumerate(raw_functions):
        if not isinstance(fn, dict) or not isinstance(fn.get("id"), str) or not fn["id"]:
            raise RegistrationError(f"functions[{i}] must be an object with a non-empty 'id'")
        fn_id = fn["id"]
        if fn_id in seen:
            raise RegistrationError(f"function id {fn_id!r} appears twice")
        seen.add(fn_id)
        fn_url, retries = _runtime(fn_id, fn)
        try:
            flow_control = flow_control_of(fn_id, fn)
        except (ValueError, TypeError, AttributeError) as err:
            raise RegistrationError(f"function {fn_id!r}: bad flow-control option: {err}") from None
        functions.append(
            _models.FunctionSpec(
                id=fn_id,
                app_id=app_id,
                name=str(fn.get("name") or fn_id),
                task_queue=_models.BRIDGE_TASK_QUEUE,
                triggers=_triggers(fn_id, fn.get("triggers")),
                kind="http",
                url=fn_url,
                retries=retries,
                flow_control=flow_control,
            )
        )
    return _models.AppSpec(
        app_id=app_id,
        task_queue=_models.BRIDGE_TASK_QUEUE,
        functions=functions,
        kind="http",
        url=url,
        sdk=str(body.get("sdk") or body.get("sdk_language") or "") or None,
        framework=str(body.get("framework") or "") or None,
    )
