"""Handles and helpers the bridge tests share (the stack, the SDK apps, Temporal history reads)."""

from __future__ import annotations

import http.server
import json
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import temporalio.api.enums.v1
import temporalio.client
from e2e_support import Process, eventually, free_port

from temporal_worker._devserver import DevServer

HERE = Path(__file__).resolve().parent
# A signing key as Inngest issues them: prefix + hex. The session's bridge worker signs with it.
SIGNING_KEY = "signkey-test-" + "7f" * 32
EventType = temporalio.api.enums.v1.EventType


class FakeModelProvider:
    """A stand-in for a model provider's HTTP API (what step.ai.infer calls through the bridge)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                provider.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": json.loads(body)}
                )
                question = json.loads(body)["messages"][0]["content"]
                answer = json.dumps({"type": "message", "content": [{"type": "text", "text": f"re: {question}"}]})
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BridgeStack:
    def __init__(
        self,
        server: DevServer,
        client: temporalio.client.Client,
        gateway_url: str,
        gateway: Process,
        worker: Process,
        records: Path,
        base: Path,
        env: dict[str, str],
    ) -> None:
        self.server, self.client, self.gateway_url = server, client, gateway_url
        self.gateway, self.worker, self.records, self.base, self.env = gateway, worker, records, base, env
        self.http = httpx.AsyncClient(base_url=gateway_url, timeout=60)
        self.model = FakeModelProvider()

    async def aclose(self) -> None:
        await self.http.aclose()
        self.model.close()

    def logs(self) -> str:
        return f"--- bridge worker ---\n{self.worker.tail()}\n--- gateway ---\n{self.gateway.tail()}"

    async def sync(self, url: str) -> dict[str, Any]:
        r = await self.http.post("/fn/sync", json={"url": url})
        assert 200 == r.status_code, r.text
        return dict(r.json())

    async def send(self, name: str, data: dict[str, Any]) -> str:
        r = await self.http.post("/e/test-key", json={"name": name, "data": data})
        assert 200 == r.status_code, r.text
        (event_id,) = r.json()["ids"]
        return str(event_id)

    async def runs(self, event_id: str, *, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            r = await self.http.get(f"/v1/events/{event_id}/runs")
            assert 200 == r.status_code, r.text
            data = r.json()["data"]
            return data if len(data) >= count else None

        return list(await eventually(check, timeout=timeout, what=f"{count} run(s) of {event_id}"))

    async def finished(self, run_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            r = await self.http.get(f"/v1/runs/{run_id}")
            assert 200 == r.status_code, r.text
            run = r.json()["data"]
            return run if run["status"] not in ("Running", "Scheduled") else None

        return dict(await eventually(check, timeout=timeout, what=f"run {run_id} to finish"))

    async def run(self, name: str, data: dict[str, Any], *, timeout: float = 60.0) -> dict[str, Any]:
        """Send one event that starts exactly one run; that run once it ended."""
        event_id = await self.send(name, data)
        (run,) = await self.runs(event_id)
        return await self.finished(run["run_id"], timeout=timeout)

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        """POST /v0/gql (what inngest-py's own tests read runs with); the answer's `data`."""
        r = await self.http.post("/v0/gql", json={"query": query, "variables": variables})
        assert 200 == r.status_code, r.text
        body = r.json()
        assert "errors" not in body, body
        return dict(body["data"])

    async def history(self, run_id: str) -> list[Any]:
        handle = self.client.get_workflow_handle(run_id)
        return [e async for e in handle.fetch_history_events()]

    async def activity_types(self, run_id: str) -> list[str]:
        """Activity types scheduled by the run, in order (the step ids; no local activities)."""
        return [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in await self.history(run_id)
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]

    async def workflow_type(self, run_id: str) -> str:
        return (await self.client.get_workflow_handle(run_id).describe()).workflow_type

    async def runs_of_function(self, fn_id: str, *, count: int = 1, timeout: float = 30.0) -> list[str]:
        query = f"InngestFunctionId = '{fn_id}'"

        async def check() -> list[str] | None:
            ids = [wf.id async for wf in self.client.list_workflows(query)]
            return ids if len(ids) >= count else None

        return list(await eventually(check, timeout=timeout, what=f"{count} run(s) of {fn_id}"))

    def records_of(self, app_id: str, key: str) -> list[dict[str, Any]]:
        path = self.records / f"{app_id}-{key}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class SdkApp:
    """One stock SDK app process, served on a free port, synced through the gateway."""

    def __init__(self, name: str, app_id: str, port: int, process: Process) -> None:
        self.name, self.app_id, self.port, self.process = name, app_id, port, process
        self.url = f"http://127.0.0.1:{port}/api/inngest"

    def fn(self, fn_id: str) -> str:
        return f"{self.app_id}-{fn_id}"

    def event(self, name: str) -> str:
        return f"{self.app_id}/{name}"

    @classmethod
    def python(cls, stack: BridgeStack, flavour: str, *, extra_env: dict[str, str] | None = None,
               app_id: str | None = None, script: str = "py_app.py") -> SdkApp:
        port = free_port()
        app_id = app_id or f"bridge-{flavour}"
        env = {
            **stack.env,
            "INNGEST_DEV": stack.gateway_url,
            "BRIDGE_APP_ID": app_id,
            "BRIDGE_RECORD_DIR": str(stack.records),
            "BRIDGE_AI_URL": stack.model.url,
            **(extra_env or {}),
        }
        process = Process(
            f"app-{app_id}", [sys.executable, str(HERE / script), flavour, str(port)], env, stack.base
        )
        return cls(flavour, app_id, port, process)

    @classmethod
    def node(cls, stack: BridgeStack, *, app_id: str = "bridge-ts") -> SdkApp:
        port = free_port()
        node = shutil.which("node") or "node"
        env = {
            **stack.env,
            "INNGEST_DEV": stack.gateway_url,
            "INNGEST_BASE_URL": stack.gateway_url,
            "PORT": str(port),
            "BRIDGE_APP_ID": app_id,
        }
        process = Process(f"app-{app_id}", [node, str(HERE / "ts_app" / "app.mjs")], env, stack.base)
        return cls("ts", app_id, port, process)

    def start(self) -> None:
        self.process.start()
