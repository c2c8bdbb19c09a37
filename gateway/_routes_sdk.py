"""What stock Inngest SDK apps talk to: app sync, state fetches, and the dev-server extras.

- `POST /fn/register`: an SDK syncs its app (after we, or anyone, PUT its URL). The app's function
  set replaces the previous one in Temporal's registry; its functions run on the bridge worker.
- `POST /fn/sync` `{"url": ...}`: ask the app at `url` to sync (we PUT it, as Inngest's dev
  server does), with a clear error when it cannot be reached.
- `GET /v0/runs/{run_id}/batch|actions`: the events and step memo of a run whose state was too
  large to send with a call request (`use_api`).
- `GET /dev`, `POST /v0/connect/start`: what the SDKs' test harnesses probe in dev mode.
- `POST /v0/gql`: the GraphQL subset those harnesses read runs with (`_gql`).

Production mode requires the SDK's signing key as bearer token (raw or hashed, with or without the
`signkey-<env>-` prefix; any of GATEWAY_SIGNING_KEYS, so a fallback key works too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any, Final

import fastapi
import fastapi.responses
import httpx
import temporal_worker
import temporalio.client
import temporalio.service

from . import _auth, _deps, _errors, _gql

logger = logging.getLogger(__name__)

# The SDKs' own protocol, not the public REST API: kept out of the OpenAPI document.
router = fastapi.APIRouter(tags=["sdk"], include_in_schema=False)
router.include_router(_gql.router)

SYNC_TIMEOUT: Final = 20.0  # seconds to write an app into the registry (needs a running worker)
PROBE_TIMEOUT: Final = 5.0
PUT_TIMEOUT: Final = 30.0
VISIBLE_TIMEOUT: Final = 10.0


def server_kind(settings: Any) -> str:
    return "dev" if settings.mode == "dev" else "cloud"


def registry_of(request: fastapi.Request, client: temporalio.client.Client) -> Any:
    """The gateway's registry view (shared with the event router when the lifespan built it)."""
    registry = getattr(request.app.state, "registry", None)
    if registry is None:
        registry = temporal_worker.Registry(
            client, ttl=request.app.state.settings.registry_ttl_seconds
        )
        request.app.state.registry = registry
    return registry


async def _read_json(request: fastapi.Request) -> tuple[bytes, Any]:
    raw = await request.body()
    try:
        return raw, json.loads(raw)
    except ValueError as err:
        raise _errors.BadRequestError(f"request body is not JSON: {err}") from None


async def _probe(url: str) -> None:
    """Refuse a registration whose URL we cannot reach: the bridge would fail every call."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http:
            await http.get(url)
    except httpx.HTTPError as err:
        raise _errors.BadRequestError(
            f"cannot reach the app at {url} ({type(err).__name__}: {err or 'no answer'}): the "
            "bridge calls that URL to run every step. Is the app running, and is the URL the one "
            "it serves Inngest on (serve_origin / INNGEST_SERVE_ORIGIN if it is behind a proxy)?",
            field="url",
        ) from None


async def register_app(
    request: fastapi.Request, client: temporalio.client.Client, body: Any
) -> dict[str, Any]:
    """Validate an SDK's sync payload, store it in Temporal, answer as Inngest's server does."""
    try:
        app = temporal_worker.app_from_registration(body)
    except temporal_worker.RegistrationError as err:
        raise _errors.BadRequestError(str(err), field=err.field) from None
    await _probe(app.url or "")
    registry = registry_of(request, client)
    previous = next((a for a in await registry.apps(refresh=True) if a.app_id == app.app_id), None)
    if previous is not None and previous.task_queue != temporal_worker.BRIDGE_TASK_QUEUE:
        raise _errors.ConflictError(
            f"app id {app.app_id!r} belongs to functions a worker serves (task queue "
            f"{previous.task_queue}: {', '.join(f.id for f in previous.functions)}); syncing this "
            "SDK app would replace them: give it its own app id (or `inngest-temporal apps "
            f"remove {app.app_id}` once no worker serves that app)",
            field="appName",
        )
    modified = previous is None or temporal_worker.app_to_dict(previous) != temporal_worker.app_to_dict(app)
    try:
        await asyncio.wait_for(temporal_worker.sync_app(client, app), timeout=SYNC_TIMEOUT)
        await temporal_worker.reconcile_schedules(client, app)
    except TimeoutError:
        raise _errors.ServiceUnavailableError(
            f"could not store app {app.app_id!r} in Temporal within {SYNC_TIMEOUT:g} s: no worker "
            "serves the system task queue. Start `inngest-temporal bridge` (or `inngest-temporal "
            "dev`) against the same Temporal"
        ) from None
    except temporalio.service.RPCError as err:
        raise _errors.from_rpc_error(err, f"syncing app {app.app_id}") from err
    wanted = sorted(f.id for f in app.functions)
    deadline = time.monotonic() + VISIBLE_TIMEOUT
    while time.monotonic() < deadline:  # visibility is eventually consistent
        seen = next((a for a in await registry.apps(refresh=True) if a.app_id == app.app_id), None)
        if seen is not None and sorted(f.id for f in seen.functions) == wanted:
            break
        await asyncio.sleep(0.05)
    logger.info(
        "SDK app synced",
        extra={"app_id": app.app_id, "url": app.url, "sdk": app.sdk, "functions": wanted},
    )
    refused = [f.unsupported for f in app.functions if f.unsupported]
    for reason in refused:
        logger.warning("function synced but its runs will be refused", extra={"reason": reason})
    reply: dict[str, Any] = {
        "ok": True,
        "modified": modified,
        "sync_id": str(uuid.uuid4()),
        "app_id": app.app_id,
    }
    if refused:
        reply["warnings"] = refused
    return reply


@router.post("/fn/register", summary="Sync an SDK app (what SDKs POST after a PUT)")
async def fn_register(
    request: fastapi.Request,
    settings: _deps.SettingsDep,
    client: _deps.TemporalDep,
) -> dict[str, Any]:
    _auth.check_bearer(request.headers.get("authorization"), settings)
    expected = request.headers.get("x-inngest-expected-server-kind")
    if expected and expected != server_kind(settings):
        raise _errors.BadRequestError(
            f"the SDK expects a {expected!r} server but this gateway runs in {settings.mode!r} "
            f"mode: set INNGEST_DEV accordingly (dev mode <-> GATEWAY_MODE=dev)",
            field="x-inngest-expected-server-kind",
        )
    _, body = await _read_json(request)
    return await register_app(request, client, body)


@router.post("/fn/sync", summary="Ask the SDK app at `url` to sync (PUT to it)")
async def fn_sync(
    request: fastapi.Request,
    settings: _deps.SettingsDep,
    client: _deps.TemporalDep,
) -> fastapi.Response:
    _auth.check_bearer(request.headers.get("authorization"), settings)
    url = request.query_params.get("url")
    if url is None:
        _, body = await _read_json(request)
        url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _errors.BadRequestError(
            'send {"url": "http://host:port/api/inngest"}: the URL the app serves Inngest on',
            field="url",
        )
    raw = temporal_worker.canonical_json({"url": url})
    headers = {"content-type": "application/json", "x-inngest-server-kind": server_kind(settings)}
    if settings.signing_keys:
        headers["x-inngest-signature"] = temporal_worker.sign_body(raw, settings.signing_keys[0])
    try:
        async with httpx.AsyncClient(timeout=PUT_TIMEOUT) as http:
            answer = await http.put(url, content=raw, headers=headers)
    except httpx.HTTPError as err:
        raise _errors.BadRequestError(
            f"cannot reach the app at {url} ({type(err).__name__}: {err or 'no answer'}): is it "
            "running, and is this the URL it serves Inngest on (e.g. http://host:port/api/inngest)?",
            field="url",
        ) from None
    try:
        reply = answer.json()
    except ValueError:
        reply = None
    if answer.headers.get("x-inngest-sync-kind") == "in_band" and isinstance(reply, dict):
        if settings.signing_keys and not temporal_worker.verify_signature(
            answer.content, answer.headers.get("x-inngest-signature"), settings.signing_keys
        ):
            raise _errors.UnauthorizedError(
                f"the app at {url} answered an in-band sync without a valid signature"
            )
        result = await register_app(request, client, {**reply, "url": reply.get("url") or url})
        return fastapi.responses.JSONResponse({**result, "url": url})
    if not answer.headers.get("x-inngest-sdk"):
        raise _errors.BadRequestError(
            f"{url} answered {answer.status_code} but is not an Inngest SDK endpoint (no "
            "x-inngest-sdk header): check the path (usually /api/inngest)",
            field="url",
        )
    error = reply.get("error") if isinstance(reply, dict) else None
    if answer.status_code >= 400 or error:
        message = error or (reply.get("message") if isinstance(reply, dict) else None) or answer.text[:500]
        # SDKs answer a failed sync with 200 and the reason (e.g. a signing-key mismatch).
        status = f" ({answer.status_code})" if answer.status_code >= 400 else ""
        raise _errors.BadRequestError(
            f"the app at {url} refused to sync{status}: {message}", field="url"
        )
    return fastapi.responses.JSONResponse({"ok": True, "url": url, "app": reply})


def _dev_only(settings: Any, path: str) -> None:
    if settings.mode != "dev":
        raise _errors.NotFoundError(f"{path} exists only in dev mode (GATEWAY_MODE=dev)")


@router.get("/dev", summary="Dev-server info (SDK test harnesses probe it)")
async def dev_info(
    request: fastapi.Request, settings: _deps.SettingsDep, client: _deps.TemporalDep
) -> dict[str, Any]:
    _dev_only(settings, "/dev")
    registry = registry_of(request, client)
    functions = []
    for fn in await registry.functions(refresh=True):
        triggers = [
            {"event": t.event, "expression": t.expression} if t.event else {"cron": t.cron}
            for t in fn.triggers
        ]
        functions.append(
            {
                "name": fn.name,
                "id": fn.id,
                "slug": fn.id,
                "app_id": fn.app_id,
                "triggers": triggers,
                "steps": [{"id": "step", "name": "step", "uri": fn.url}] if fn.url else [],
            }
        )
    return {
        "version": "inngest-temporal",
        "functions": functions,
        "handlers": [],
        "features": {},
    }


@router.post("/v0/connect/start", summary="Readiness probe of the Python SDK's test harness")
async def connect_start(settings: _deps.SettingsDep) -> dict[str, Any]:
    _dev_only(settings, "/v0/connect/start")
    return {"ok": True, "message": "Inngest Connect is not supported; serve the app over HTTP"}


async def _run_input(client: temporalio.client.Client, run_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(run_id)
    try:
        async for event in handle.fetch_history_events():
            attrs = event.workflow_execution_started_event_attributes
            payloads = list(attrs.input.payloads)
            if not payloads:
                break
            # The client's converter: a large input may sit in the payload store (claim check).
            (value,) = await client.data_converter.decode(payloads[:1])
            return value if isinstance(value, dict) else {}
    except temporalio.service.RPCError as err:
        if err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            raise _errors.RunNotFoundError(run_id) from None
        raise _errors.from_rpc_error(err, f"reading run {run_id}") from err
    raise _errors.RunNotFoundError(run_id)


@router.get("/v0/runs/{run_id:path}/batch", summary="A run's events (SDKs fetch them with use_api)")
async def run_batch(
    run_id: str, settings: _deps.SettingsDep, client: _deps.TemporalDep, request: fastapi.Request
) -> fastapi.Response:
    _auth.check_bearer(request.headers.get("authorization"), settings)
    inp = await _run_input(client, run_id)
    events = inp.get("events") or ([inp["event"]] if inp.get("event") else [])
    return fastapi.responses.JSONResponse(events)


@router.get("/v0/runs/{run_id:path}/actions", summary="A run's step memo (SDKs fetch it with use_api)")
async def run_actions(
    run_id: str, settings: _deps.SettingsDep, client: _deps.TemporalDep, request: fastapi.Request
) -> fastapi.Response:
    _auth.check_bearer(request.headers.get("authorization"), settings)
    try:
        memo = await temporal_worker.fetch_memo(client, run_id)
    except temporalio.client.WorkflowQueryFailedError as err:
        raise _errors.UpstreamError(f"cannot read the steps of run {run_id} from Temporal: {err}") from err
    except temporalio.service.RPCError as err:
        if err.status == temporalio.service.RPCStatusCode.NOT_FOUND:
            raise _errors.RunNotFoundError(run_id) from None
        raise _errors.from_rpc_error(err, f"reading the steps of run {run_id}") from err
    return fastapi.responses.JSONResponse(memo)
