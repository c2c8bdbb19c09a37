"""The routing core as the gateway sees it: anything with `async send(events) -> ids`.

The real one is `temporal_worker.EventRouter` (over a `temporal_worker.Registry`); it is imported
only when the app starts without an injected router, so the gateway imports no worker code at import
time and tests can inject a recording router.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import temporalio.client

from . import _errors, _settings


@runtime_checkable
class EventSender(Protocol):
    """Routes accepted events: starts matching runs and wakes waiting ones."""

    async def send(self, events: list[dict[str, Any]], *, ids: list[str] | None = None) -> list[str]:
        """Route validated events; return their internal ids (ULIDs) in the same order.

        Each event is `{"name", "data", "id", "ts", "v"?, "user"?}` where `id` may be `""` and
        `ts` may be 0 (meaning "now"). `ids`, when given, are the internal ids to use (from the
        request's event-id seed); else new ones are made. Raises on Temporal errors.
        """
        ...


def build_router(client: temporalio.client.Client, settings: _settings.Settings) -> EventSender:
    """Build `temporal_worker.EventRouter` over a `temporal_worker.Registry` on `client`."""
    try:
        import temporal_worker
    except ImportError as err:
        raise _errors.StartupError(
            f"cannot import temporal_worker ({err}): install the inngest-temporal package with the"
            " gateway, or pass router= to create_app()"
        ) from err
    registry_cls = getattr(temporal_worker, "Registry", None)
    router_cls = getattr(temporal_worker, "EventRouter", None)
    if registry_cls is None or router_cls is None:
        raise _errors.StartupError(
            "temporal_worker does not export Registry and EventRouter: upgrade inngest-temporal,"
            " or pass router= to create_app()"
        )
    registry = registry_cls(client, ttl=settings.registry_ttl_seconds)
    router: EventSender = router_cls(client, registry)
    return router
