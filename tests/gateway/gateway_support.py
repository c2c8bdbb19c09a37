"""Helpers the gateway tests share (importable as `gateway_support`; conftest modules are not)."""

from __future__ import annotations

import socket
from typing import Any


class RecordingRouter:
    """An event router that records what it is asked to send and answers the ids it is given, or
    `evt-<n>` ids."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.error: BaseException | None = None
        self._next = 0

    async def send(self, events: list[dict[str, Any]], *, ids: list[str] | None = None) -> list[str]:
        self.calls.append(events)
        if self.error is not None:
            raise self.error
        made = [f"evt-{self._next + offset}" for offset in range(len(events))]
        self._next += len(events)
        return made if ids is None else ids

    @property
    def sent(self) -> list[dict[str, Any]]:
        return [event for call in self.calls for event in call]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
