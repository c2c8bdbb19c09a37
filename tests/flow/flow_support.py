"""Helpers the flow-control tests share (the stack itself is built in conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import Process, Stack, free_port, gateway_up  # noqa: F401 (re-exported)


class FlowStack(Stack):
    """The e2e Stack plus what flow-control tests need: start records and skip records."""

    def started(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.records_of(key) if r["what"] == "started"]

    async def all_runs(self, event_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"/v1/events/{event_id}/runs")
        assert 200 == r.status_code, r.text
        return list(r.json()["data"])

    def start_gateway(self, name: str, tmp: Path) -> tuple[Process, str]:
        port = free_port()
        proc = Process(name, [sys.executable, "-m", "gateway", "--port", str(port)], self.worker.env, tmp)
        proc.start()
        return proc, f"http://127.0.0.1:{port}"

    def start_worker(self, name: str, tmp: Path) -> Process:
        proc = Process(
            name, [sys.executable, "-m", "temporal_worker", "worker", "--app", "flow_app"], self.worker.env, tmp
        )
        proc.start()
        return proc
