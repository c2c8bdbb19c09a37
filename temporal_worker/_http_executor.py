"""`HttpExecutor`: replay functions of stock Inngest SDK apps by calling their HTTP endpoint.

The run workflow drives these functions exactly like native ones; only the replay differs. A
replay request becomes Inngest's call request (`POST <runtime url>?fnId=<id>&stepId=<target or
"step">`, body {event, events, steps, ctx, version, use_api}, signed when a signing key is set) and
the SDK's answer becomes the executor outcome dict (see `_executors`):

- discovery (no target) is sent with `ctx.disable_immediate_execution = true`, so the SDK reports
  the next step.run as `StepPlanned` instead of running it inline: each step.run then runs in its
  own activity, whose activity type is the step id.
- a targeted request (`stepId=<hashed id>`) runs that step: `StepRun` -> memo {"data": ...};
  `StepError` -> a retry of the activity, or on the last attempt / `x-inngest-no-retry` the memo
  {"error": ...}; `StepFailed` -> the memo {"error": ...}.
- `Sleep`, `WaitForEvent`, `InvokeFunction` become the planned steps compat's engine reports, with
  the same `opts` keys; `200` is the function's return value; 4xx/5xx are function errors
  (retriable unless `x-inngest-no-retry: true`, delayed by `retry-after`); a response without the
  `x-inngest-sdk` header did not come from an SDK and fails the attempt.

After a targeted step ran, the executor looks ahead (one more discovery request) when the step
was planned alone or in a race group, so the workflow learns the next step without a separate
discovery; for steps planned in a "wait" group the workflow discovers once the group is done.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import logging
import os
import urllib.parse
from typing import Any, Final

import httpx

from . import _models, _sdk_protocol
from ._executors import FunctionConfig, ReplayRequest
from ._registry import Registry

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024  # above this, the SDK fetches state from the gateway
REQUEST_TIMEOUT: Final = 7200.0  # Inngest's maximum step duration
_REMEMBERED_PLANS: Final = 10_000
_SUPPORTED_LATER: Final = {
    "Gateway": "step.fetch",
    "WaitForSignal": "step.waitForSignal",
}


INLINE_STEPS_ENV: Final = "INNGEST_TEMPORAL_SDK_INLINE_STEPS"


def inline_apps(value: str) -> frozenset[str]:
    """The apps whose steps run inline (INNGEST_TEMPORAL_SDK_INLINE_STEPS: app ids, or "*").

    By default each step.run of an SDK app is its own activity, named after the step (the SDK
    reports the step, then a targeted call runs it: one more call per step than on Inngest).
    Inline apps get Inngest's exact call sequence instead: a lone new step runs inside the
    discovery call (an activity `__discover`), so middleware, loggers and nested-step checks in
    the app see what they see on Inngest; steps planned in parallel are still targeted activities.
    """
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


class AppCallError(Exception):
    """The app could not be called or did not answer as an Inngest SDK (an attempt failed)."""


def _error(name: str, message: str, stack: str = "") -> dict[str, Any]:
    return {"name": name, "message": message, "stack": stack}


def _outcome(status: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": status,
        "planned": [],
        "value": None,
        "error": None,
        "retriable": True,
        "retry_after_seconds": None,
        "target_output": None,
        "target_ran": False,
        "ran": [],  # steps a discovery call ran inline: [{"id", "hashed", "output"}]
    }
    out.update(fields)
    return out


def retry_after_seconds(value: str | None, *, now: datetime.datetime | None = None) -> float | None:
    """`retry-after`: seconds (<= 7 chars) or a timestamp; clamped to [1 s, 24 h]."""
    if not value:
        return None
    value = value.strip()
    seconds: float | None = None
    if len(value) <= 7:
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
    if seconds is None:
        at = _sdk_protocol.parse_time(value)
        if at is None:
            try:
                import email.utils

                at = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
        now = now or datetime.datetime.now(datetime.timezone.utc)
        seconds = (at - now).total_seconds()
    return min(max(seconds, 1.0), 86400.0)


def _step_id(op: dict[str, Any]) -> str:
    """The user's step id with Inngest's repeat suffix (`foo`, `foo:1`), for labels."""
    userland = op.get("userland")
    if isinstance(userland, dict) and isinstance(userland.get("id"), str) and userland["id"]:
        index = userland.get("index")
        return f"{userland['id']}:{index}" if isinstance(index, int) and index > 0 else userland["id"]
    for key in ("displayName", "name", "id"):
        if isinstance(op.get(key), str) and op[key]:
            return str(op[key])
    return "step"


def _op_error(op: dict[str, Any]) -> dict[str, Any]:
    err = op.get("error")
    if isinstance(err, dict):
        out = dict(err)
        out.setdefault("name", "Error")
        out.setdefault("message", "")
        out.setdefault("stack", "")
        return out
    return _error("Error", str(err) if err is not None else "step failed")


def plan_of(op: dict[str, Any]) -> dict[str, Any]:
    """One reported op -> the planned-step dict of the outcome (kinds as compat's engine)."""
    kind = op.get("op")
    step_id = _step_id(op)
    hashed = str(op.get("id") or _sdk_protocol.hash_step_id(step_id))
    opts = op.get("opts") if isinstance(op.get("opts"), dict) else {}
    plan: dict[str, Any] = {
        "id": step_id,
        "hashed": hashed,
        "name": str(op.get("displayName") or op.get("name") or step_id),
        "parallel_mode": None,
    }
    try:
        if kind in ("StepPlanned", "AIGateway"):  # AIGateway: the activity makes the request
            plan.update(kind="run", opts={})
        elif kind == "Sleep":
            plan.update(kind="sleep", opts=_sleep_opts(op, opts))
        elif kind == "WaitForEvent":
            plan.update(kind="wait_for_event", opts=_wait_opts(op, opts))
        elif kind == "InvokeFunction":
            plan.update(kind="invoke", opts=_invoke_opts(opts))
        else:
            raise ValueError(f"unknown opcode {kind!r}")
    except ValueError as err:
        plan.update(kind="run", opts={})
        plan["error"] = _error("StepOpError", f"step {step_id!r} ({kind}): {err}")
    return plan


def _sleep_opts(op: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    for raw in (opts.get("until"), op.get("name"), opts.get("duration")):
        at = _sdk_protocol.parse_time(raw)
        if at is not None:
            return {"until": at.astimezone(datetime.timezone.utc).isoformat()}
    for raw in (opts.get("duration"), op.get("name")):
        if raw not in (None, ""):
            try:
                return {"seconds": _sdk_protocol.parse_duration(raw, what="sleep duration")}
            except ValueError:
                continue
    raise ValueError(f"no sleep duration or time in name {op.get('name')!r} / opts {opts!r}")


def _wait_opts(op: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    event = opts.get("event") or op.get("name")
    if not isinstance(event, str) or not event:
        raise ValueError("waitForEvent without an event name")
    timeout = opts.get("timeout")
    if timeout in (None, ""):
        raise ValueError("waitForEvent without a timeout")
    return {
        "event": event,
        "if_exp": opts.get("if") or None,
        "timeout_seconds": _sdk_protocol.parse_duration(timeout, what="waitForEvent timeout"),
    }


def _invoke_opts(opts: dict[str, Any]) -> dict[str, Any]:
    function_id = opts.get("function_id") or opts.get("functionId")
    if not isinstance(function_id, str) or not function_id:
        raise ValueError("invoke without function_id")
    payload = opts.get("payload") if isinstance(opts.get("payload"), dict) else {}
    data = payload.get("data")
    timeout = opts.get("timeout")
    return {
        "function_id": function_id,
        "data": data if isinstance(data, dict) else ({} if data is None else {"data": data}),
        "timeout_seconds": None
        if timeout in (None, "")
        else _sdk_protocol.parse_duration(timeout, what="invoke timeout"),
        "v": payload.get("v"),
    }


class HttpExecutor:
    """Functions synced by SDK apps (`FunctionSpec.kind == "http"`), called over HTTP."""

    def __init__(
        self,
        registry: Registry,
        *,
        signing_key: str | None = None,
        signing_key_fallback: str | None = None,
        http: httpx.AsyncClient | None = None,
        inline_apps: frozenset[str] = frozenset(),
    ) -> None:
        self._registry = registry
        self._inline_apps = inline_apps
        self._specs: dict[str, _models.FunctionSpec] = {}
        self._signing_keys = [k for k in (signing_key, signing_key_fallback) if k]
        self._http = http or httpx.AsyncClient(timeout=REQUEST_TIMEOUT, follow_redirects=True)
        # (run id, hashed step id) -> how it was planned: "alone", "race" or "wait".
        self._plans: collections.OrderedDict[tuple[str, str], str] = collections.OrderedDict()

    @property
    def inline_apps(self) -> list[str]:
        """The apps whose steps run inline ("*": all)."""
        return sorted(self._inline_apps)

    @classmethod
    def from_env(cls, registry: Registry) -> HttpExecutor:
        key = os.environ.get("INNGEST_SIGNING_KEY") or None
        return cls(
            registry,
            signing_key=key,
            signing_key_fallback=os.environ.get("INNGEST_SIGNING_KEY_FALLBACK") or None,
            inline_apps=inline_apps(os.environ.get(INLINE_STEPS_ENV, "")),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- StepExecutor -------------------------------------------------------------------------
    def function_ids(self) -> list[str]:
        return sorted(self._specs)

    def config(self, fn_id: str) -> FunctionConfig | None:
        spec = self._specs.get(fn_id)
        if spec is None:
            return None
        retries = _sdk_protocol.DEFAULT_RETRIES if spec.retries is None else spec.retries
        return FunctionConfig(
            retries=retries,
            flow_control=dict(spec.flow_control),
            inline_steps=bool({"*", spec.app_id} & self._inline_apps),
        )

    async def prepare(self, fn_id: str) -> None:
        """Load (or refresh) the function's spec from the registry before `config`/`replay`."""
        spec = await self._registry.function(fn_id)
        if spec is not None and spec.kind == "http" and spec.url:
            self._specs[fn_id] = spec
        else:
            self._specs.pop(fn_id, None)

    async def replay(self, request: ReplayRequest) -> dict[str, Any]:
        spec = self._specs.get(request.fn_id)
        if spec is None:
            await self.prepare(request.fn_id)
            spec = self._specs.get(request.fn_id)
        if spec is None or spec.url is None:
            return _outcome(
                "error",
                error=_error(
                    "FunctionNotFoundError",
                    f"function {request.fn_id!r} is not synced by any SDK app (sync the app again)",
                ),
                retriable=False,
            )
        if spec.unsupported:
            return _outcome(
                "step_failed" if request.target is not None else "error",
                error=_error("UnsupportedFunctionError", spec.unsupported),
                retriable=False,
            )
        if request.target is None:
            outcome = await self._call(spec, request, target=None)
            self._remember_plans(request.run_id, outcome)
            return outcome
        outcome = await self._call(spec, request, target=request.target)
        if _met_another_step(outcome) and self._plans.get((request.run_id, request.target), "alone") == "alone":
            outcome = await self._run_first_new_step(spec, request)
        if outcome["status"] != "planned" or not outcome["target_ran"] or outcome["planned"]:
            self._remember_plans(request.run_id, outcome)
            return outcome
        if self._plans.pop((request.run_id, request.target), "alone") != "alone" or request.inline:
            # A "wait" group: the workflow discovers once the whole group is done. A "race" group:
            # the workflow discovers after each step (a lookahead here would use a memo missing
            # what the other branches wrote meanwhile). Inline mode: the next call may run a step.
            return outcome
        # Look ahead: the next step(s) with the target's output memoized. Never fail the activity
        # from here on: the step ran and a retry would run it again.
        memo = {**request.memo, request.target: outcome["target_output"]}
        ahead_request = ReplayRequest(
            fn_id=request.fn_id,
            run_id=request.run_id,
            event=request.event,
            events=request.events,
            memo=memo,
            target=None,
            attempt=0,
            final_attempt=False,
        )
        try:
            ahead = await self._call(spec, ahead_request, target=None)
        except Exception:  # noqa: BLE001 - the workflow will discover instead
            logger.warning("lookahead failed", exc_info=True, extra={"run_id": request.run_id})
            return outcome
        # A function-level error after the step (status "error") comes back as the next outcome
        # too: the workflow retries the function, after the error's retry-after, without
        # calling the code again first.
        self._remember_plans(request.run_id, ahead)
        ahead["target_ran"] = True
        ahead["target_output"] = outcome["target_output"]
        return ahead

    async def _run_first_new_step(self, spec: _models.FunctionSpec, request: ReplayRequest) -> dict[str, Any]:
        """The targeted call met another new step before its target: a step nested in the
        target's body, or steps whose order changed since they were planned. Call as Inngest
        would have the first time (no target, immediate execution): the SDK runs whatever new
        step it meets first, and reports a nested step as such."""
        untargeted = dataclasses.replace(request, target=None, inline=True)
        outcome = await self._call(spec, untargeted, target=None)
        for ran in list(outcome.get("ran") or []):
            if ran["hashed"] == request.target:
                outcome["ran"].remove(ran)
                outcome.update(target_output=ran["output"], target_ran=True)
        return outcome

    # -- the call -----------------------------------------------------------------------------
    def _remember_plans(self, run_id: str, outcome: dict[str, Any]) -> None:
        planned = [p for p in outcome.get("planned") or [] if p["kind"] == "run"]
        for p in planned:
            mode = "alone" if len(outcome["planned"]) == 1 else (p.get("parallel_mode") or "wait")
            # A step re-planned while in flight (a race) keeps how it was first planned.
            self._plans.setdefault((run_id, p["hashed"]), mode)
            self._plans.move_to_end((run_id, p["hashed"]))
        while len(self._plans) > _REMEMBERED_PLANS:
            self._plans.popitem(last=False)

    def _body(self, request: ReplayRequest, *, disable_immediate: bool) -> dict[str, Any]:
        attempt = request.attempt
        config = self.config(request.fn_id)
        retries = config.retries if config is not None else _sdk_protocol.DEFAULT_RETRIES
        # The SDK reports StepFailed (a memoized error) instead of StepError when
        # attempt + 1 >= max_attempts: tell it exactly when this is the last attempt.
        max_attempts = attempt + 1 if request.final_attempt else max(retries + 1, attempt + 2)
        event = _event(request.event)
        events = [_event(e) for e in (request.events or [request.event])]
        return {
            "event": event,
            "events": events,
            "steps": {k: _sdk_memo(v) for k, v in request.memo.items()},
            "ctx": {
                "run_id": request.run_id,
                "attempt": attempt,
                "max_attempts": max_attempts,
                "disable_immediate_execution": disable_immediate,
                "use_api": False,
                "stack": {"stack": list(request.memo), "current": len(request.memo)},
            },
            "version": -1,
            "use_api": False,
        }

    async def _call(
        self, spec: _models.FunctionSpec, request: ReplayRequest, *, target: str | None
    ) -> dict[str, Any]:
        body = self._body(request, disable_immediate=target is None and not request.inline)
        raw = _sdk_protocol.canonical_json(body)
        if len(raw) > MAX_REQUEST_BYTES:
            if request.local:
                # The app will fetch the state from the gateway, which asks the run's workflow:
                # it cannot answer while this local activity holds its task. Call from an activity.
                return _outcome("needs_activity")
            body["events"], body["steps"], body["use_api"] = [], {}, True
            body["ctx"]["use_api"] = True
            raw = _sdk_protocol.canonical_json(body)
        step_param = target or "step"
        url = _with_query(spec.url or "", fnId=spec.id, stepId=step_param)
        headers = {
            "content-type": "application/json",
            "x-inngest-req-version": "2",
            # Header values must be ASCII: ids may hold anything (the query string is encoded too).
            "x-inngest-step-id": urllib.parse.quote(step_param, safe=""),
            "x-run-id": urllib.parse.quote(request.run_id, safe=":"),
        }
        fail = "step_failed" if target is not None else "error"
        # The primary key first; an app that refuses it (401) may have rotated to the fallback.
        for key in self._signing_keys or [None]:
            if key is not None:
                headers["x-inngest-signature"] = _sdk_protocol.sign(raw, key)
            try:
                response = await self._http.post(url, content=raw, headers=headers)
            except httpx.HTTPError as err:
                return _outcome(
                    fail,
                    error=_error(
                        "AppUnreachableError",
                        f"calling {spec.id!r} at {url} failed: {type(err).__name__}: {err}",
                    ),
                )
            if response.status_code != 401:
                break
        return await self._parse(spec, response, target=target, final=request.final_attempt, url=url)

    async def _parse(
        self,
        spec: _models.FunctionSpec,
        response: httpx.Response,
        *,
        target: str | None,
        final: bool,
        url: str,
    ) -> dict[str, Any]:
        fail = "step_failed" if target is not None else "error"
        status = response.status_code
        no_retry = response.headers.get("x-inngest-no-retry", "").lower() == "true"
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        try:
            payload: Any = json.loads(response.content) if response.content.strip() else None
        except ValueError:
            payload = None
            if 200 <= status < 300:
                return _outcome(
                    fail,
                    error=_error(
                        "InvalidResponseError",
                        f"{spec.id!r} at {url} answered {status} with a body that is not JSON",
                    ),
                )
        if status == 401:  # checked first: SDKs refuse a bad signature without their header
            return _outcome(
                fail,
                error=_error(
                    "UnauthorizedError",
                    f"{url} refused the request signature (401): give the bridge the app's "
                    "signing key (INNGEST_SIGNING_KEY)",
                ),
                retriable=False,
            )
        if not response.headers.get("x-inngest-sdk"):
            return _outcome(
                fail,
                error=_error(
                    "NotAnSdkResponseError",
                    f"{url} answered {status} without an x-inngest-sdk header: that is not an "
                    "Inngest SDK endpoint (check the URL the app synced with)",
                ),
            )
        if status == 201 and isinstance(payload, dict) and "status" in payload:
            return await self._parse_streamed(spec, payload, target=target, final=final, url=url)
        if status == 200:  # the function returned (a target no longer reached: the workflow sees it)
            return _outcome("done", value=payload)
        if status == 206:
            ops = payload if isinstance(payload, list) else ([payload] if isinstance(payload, dict) else [])
            return await self._ops(ops, target=target, final=final, no_retry=no_retry, retry_after=retry_after)
        if 200 <= status < 300:
            return _outcome(
                fail,
                error=_error("InvalidResponseError", f"{url} answered with unexpected status {status}"),
            )
        # The SDK's error body as is (it becomes the run's output), plus Inngest's summary under
        # "error" (what inngest/function.failed carries: {error, name, message, stack}).
        error = _error("Error", f"invalid status code: {status}")
        if isinstance(payload, dict):
            error = {**payload}
            error.setdefault("name", "Error")
            error.setdefault("message", f"invalid status code: {status}")
        elif payload is not None:
            error["message"] = f"invalid status code: {status}: {json.dumps(payload)[:500]}"
        error["error"] = f"invalid status code: {status}"
        return _outcome(fail, error=error, retriable=not no_retry, retry_after_seconds=retry_after)

    async def _parse_streamed(
        self, spec: _models.FunctionSpec, payload: dict[str, Any], *, target: str | None, final: bool, url: str
    ) -> dict[str, Any]:
        """INNGEST_STREAMING: the real status, headers and body wrapped in one JSON object."""
        inner = payload.get("body")
        if isinstance(inner, str):
            content = inner.encode()
        else:
            content = json.dumps(inner).encode()
        headers = {**(payload.get("headers") or {}), "x-inngest-sdk": "streamed"}
        response = httpx.Response(int(payload["status"]), headers=headers, content=content)
        return await self._parse(spec, response, target=target, final=final, url=url)

    async def _ai_request(self, op: dict[str, Any]) -> dict[str, Any]:
        """step.ai.infer: the server calls the model provider; the memo is its JSON answer."""
        opts = op.get("opts") if isinstance(op.get("opts"), dict) else {}
        url = opts.get("url")
        headers = {
            "-".join(p.capitalize() for p in str(k).split("-")): str(v)
            for k, v in (opts.get("headers") or {}).items()
        }
        key = opts.get("auth_key") or ""
        fmt = str(opts.get("format") or "")
        # Canonical header names, as Go's server sends them (some providers' mocks compare case).
        if key and fmt == "anthropic":
            headers.setdefault("X-Api-Key", key)
        elif key and fmt == "gemini":
            headers.setdefault("X-Goog-Api-Key", key)
        elif key:
            headers.setdefault("Authorization", f"Bearer {key}")
        headers.setdefault("Content-Type", "application/json")
        try:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError(f"step.ai.infer {_step_id(op)!r}: no provider URL in {opts!r}")
            response = await self._http.post(url, json=opts.get("body"), headers=headers)
            if response.status_code >= 300:
                raise ValueError(f"{response.status_code}: {response.text[:2000]}")
            return {"data": response.json()}
        except (httpx.HTTPError, ValueError) as err:
            return {
                "error": _error("AIGatewayError", f"Error making AI request: {err}", str(err))
            }

    async def _ops(
        self,
        ops: list[Any],
        *,
        target: str | None,
        final: bool,
        no_retry: bool,
        retry_after: float | None,
    ) -> dict[str, Any]:
        planned: list[dict[str, Any]] = []
        target_output: dict[str, Any] | None = None
        ran: list[dict[str, Any]] = []  # steps run inline by a discovery call (no target)

        def record(op: dict[str, Any], output: dict[str, Any]) -> None:
            nonlocal target_output
            if target is not None and op.get("id") == target:
                target_output = output
            elif target is None and isinstance(op.get("id"), str):
                ran.append({"id": _step_id(op), "hashed": op["id"], "output": output})
            else:  # a targeted call ran another step: SDKs skip non-target steps
                logger.warning("a step other than the target ran", extra={"step": _step_id(op)})

        for op in ops:
            if not isinstance(op, dict):
                continue
            kind = op.get("op")
            hashed = op.get("id")
            if kind in ("StepRun", "Step"):
                data = op.get("data")
                if kind == "Step" and isinstance(data, dict) and set(data) <= {"data", "error"} and data:
                    record(op, data)
                else:
                    record(op, {"data": data})
                continue
            if kind == "StepError":
                error = _op_error(op)
                if not final and not no_retry:
                    return _outcome(
                        "step_failed", error=error, retriable=True, retry_after_seconds=retry_after
                    )
                record(op, {"error": error})
                continue
            if kind == "StepFailed":
                record(op, {"error": _op_error(op)})
                continue
            if kind == "AIGateway" and target is not None and hashed == target:
                target_output = await self._ai_request(op)
                continue
            if kind == "RunComplete":
                return _outcome("done", value=op.get("data"))
            if kind in ("DiscoveryRequest", "DeferAdd", "DeferAbort"):
                continue
            if kind in _SUPPORTED_LATER:
                return _outcome(
                    "step_failed" if target is not None else "error",
                    error=_error(
                        "UnsupportedStepError",
                        f"{_SUPPORTED_LATER[kind]} (opcode {kind}, step {_step_id(op)!r}) is not "
                        "supported on Temporal yet",
                    ),
                    retriable=False,
                )
            planned.append(plan_of(op))
        if len(planned) > 1:
            for p in planned:
                mode = None
                raw = next((o for o in ops if isinstance(o, dict) and o.get("id") == p["hashed"]), {})
                opts = raw.get("opts") if isinstance(raw.get("opts"), dict) else {}
                if opts.get("parallelMode") == "race":
                    mode = "race"
                p["parallel_mode"] = mode or "wait"
        if target is not None and target_output is not None:
            return _outcome("planned", planned=planned, target_output=target_output, target_ran=True)
        return _outcome("planned", planned=planned, ran=ran)


def _met_another_step(outcome: dict[str, Any]) -> bool:
    """The SDK's answer when a targeted call reaches a different new step first."""
    error = outcome.get("error") or {}
    return outcome["status"] == "step_failed" and error.get("name") == "StepUnexpectedError"


def _sdk_memo(value: Any) -> Any:
    """A memo entry as SDKs expect it: errors we made ourselves (invoke timeout...) have no stack."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("error"), dict):
        err = value["error"]
        if err.get("stack") in ("", None):
            return {"error": {k: v for k, v in err.items() if k != "stack"}}
    return value


def _event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as SDKs validate it: string id and name, integer ts, object data."""
    out = dict(event)
    out["name"] = str(out.get("name") or "")
    out["id"] = str(out.get("id") or "")
    out["data"] = out.get("data") if isinstance(out.get("data"), dict) else {}
    ts = out.get("ts")
    out["ts"] = int(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else 0
    out.setdefault("user", {})
    return out


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
