"""Inngest's wire API (events, REST) as a stateless FastAPI service on top of Temporal."""

from __future__ import annotations

from ._app import create_app
from ._routing import EventSender
from ._server import run
from ._settings import Settings, get_settings

__all__ = [
    # App
    "create_app",
    "run",
    # Settings
    "Settings",
    "get_settings",
    # Plug-ins
    "EventSender",
]
