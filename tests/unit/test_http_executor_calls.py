"""HttpExecutor against a stand-in app (httpx MockTransport): the request it sends, the outcome
it makes of each answer. No Temporal, no real app."""

from __future__ import annotations

import json
from typing import Any

import httpx

from temporal_worker import _models, _sdk_protocol
from temporal_worker._executors import ReplayRequest
from temporal_worker._http_executor import HttpExecutor

PRIMARY = "signkey-prod-" + "11" * 32
FALLBACK = "signkey-prod-" + "22" * 32
URL = "http://app.test/api/inngest?fnId=app-fn&stepId=step"
SDK = {"x-inngest-sdk": "inngest-py:v0.5.19"}


def spec(**kw: Any) -> _models.FunctionSpec:
    return _models.FunctionSpec(
        id="app-fn", app_id="app", name="fn", task_queue="inngest:bridge", triggers=[], kind="http", url=URL,
        retries=kw.get("retries", 2),
    )


def request(target: str | None = None, *, final: bool = False, memo: dict[str, Any] | None = None) -> ReplayRequest:
    event = {"name": "a/b", "data": {"x": 1}, "id": "evt", "ts": 5}
    return ReplayRequest(fn_id="app-fn", run_id="run-1", event=event, events=[event], memo=memo or {},
                         target=target, attempt=0, final_attempt=final)


def executor(handler: Any, **kw: Any) -> HttpExecutor:
    ex = HttpExecutor(registry=None, http=httpx.AsyncClient(transport=httpx.MockTransport(handler)), **kw)  # type: ignore[arg-type]
    ex._specs["app-fn"] = spec()
    return ex


async def test_http_executor_discovery_sends_inngest_call_request_and_maps_planned_steps() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        ops = [{"op": "StepPlanned", "id": "h1", "displayName": "a", "userland": {"id": "a", "index": None}}]
        return httpx.Response(206, json=ops, headers=SDK)

    memo = {"h0": {"error": {"name": "InngestInvokeTimeoutError", "message": "late", "stack": ""}}}
    out = await executor(handler).replay(request(memo=memo))
    assert ("planned", ["a"], [None]) == (out["status"], [p["id"] for p in out["planned"]], [p["parallel_mode"] for p in out["planned"]])
    (req,) = seen
    assert "fnId=app-fn&stepId=step" == req.url.query.decode()
    body = json.loads(req.content)
    assert {"run_id": "run-1", "attempt": 0, "max_attempts": 3, "disable_immediate_execution": True,
            "use_api": False, "stack": {"stack": ["h0"], "current": 1}} == body["ctx"]
    assert ({"error": {"name": "InngestInvokeTimeoutError", "message": "late"}}, -1, False) == (
        body["steps"]["h0"], body["version"], body["use_api"]
    )
    assert {"name": "a/b", "data": {"x": 1}, "id": "evt", "ts": 5, "user": {}} == body["event"]
    assert "x-inngest-signature" not in req.headers


async def test_http_executor_signs_the_canonical_body_and_falls_back_to_the_second_key() -> None:
    keys_tried: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        header = req.headers["x-inngest-signature"]
        assert _sdk_protocol.canonical_json(json.loads(req.content)) == req.content
        for key in (PRIMARY, FALLBACK):
            if _sdk_protocol.verify_signature(req.content, header, [key]):
                keys_tried.append(key)
        if _sdk_protocol.verify_signature(req.content, header, [FALLBACK]):
            return httpx.Response(200, json={"ok": 1}, headers=SDK)
        return httpx.Response(401, json={"message": "Unauthorized"}, headers=SDK)

    out = await executor(handler, signing_key=PRIMARY, signing_key_fallback=FALLBACK).replay(request())
    assert ("done", {"ok": 1}) == (out["status"], out["value"])
    assert [PRIMARY, FALLBACK] == keys_tried

    out = await executor(handler, signing_key=PRIMARY).replay(request())
    assert ("error", "UnauthorizedError", False) == (out["status"], out["error"]["name"], out["retriable"])


async def test_http_executor_targeted_step_outcomes() -> None:
    answers: list[httpx.Response] = []

    def handler(req: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    ex = executor(handler)
    err = {"name": "ValueError", "message": "boom", "stack": "tb"}
    answers.append(httpx.Response(206, json=[{"op": "StepError", "id": "h1", "error": err}], headers=SDK))
    out = await ex.replay(request("h1"))
    assert ("step_failed", True, err) == (out["status"], out["retriable"], out["error"])

    answers.append(httpx.Response(206, json=[{"op": "StepError", "id": "h1", "error": err}],
                                  headers={**SDK, "x-inngest-no-retry": "true"}))
    answers.append(httpx.Response(200, json="after", headers=SDK))  # the lookahead
    out = await ex.replay(request("h1"))
    assert (True, {"error": err}, "done", "after") == (out["target_ran"], out["target_output"], out["status"], out["value"])

    answers.append(httpx.Response(500, json={"code": "unknown", "name": "E", "message": "m", "stack": "s"},
                                  headers={**SDK, "retry-after": "3"}))
    out = await ex.replay(request("h1"))
    assert ("step_failed", 3.0, "invalid status code: 500", "unknown") == (
        out["status"], out["retry_after_seconds"], out["error"]["error"], out["error"]["code"]
    )

    answers.append(httpx.Response(200, json={"not": "an sdk"}))
    out = await ex.replay(request())
    assert ("error", "NotAnSdkResponseError") == (out["status"], out["error"]["name"])


async def test_http_executor_refused_signature_without_sdk_header_is_unauthorized() -> None:
    # inngest-py answers a bad signature with a bare 401 (no x-inngest-sdk header): that is a key
    # mismatch to report as such, not a URL that is no SDK, and retrying cannot help.
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Unauthorized"})

    out = await executor(handler, signing_key=PRIMARY).replay(request())
    assert ("error", "UnauthorizedError", False) == (out["status"], out["error"]["name"], out["retriable"])
    assert "INNGEST_SIGNING_KEY" in out["error"]["message"]
