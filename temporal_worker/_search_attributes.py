"""Register our custom search attributes on a Temporal namespace.

Runs carry InngestFunctionId, InngestAppId, InngestEventName and InngestEventId
(`_models.SEARCH_ATTRIBUTES`). Upserting an attribute the namespace does not know leaves the
workflow stuck, so the worker makes sure they exist before it serves anything. Servers we start
ourselves get them from command-line flags; this covers every other server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import temporalio.api.enums.v1
import temporalio.api.operatorservice.v1
import temporalio.client
import temporalio.common
import temporalio.service

from temporal_worker import _models

logger = logging.getLogger(__name__)


class SearchAttributeError(RuntimeError):
    """A search attribute we need exists with another type, or could not be registered.

    Raised by `ensure_search_attributes`; `name` and `namespace` say which.
    """

    def __init__(self, message: str, *, name: str, namespace: str) -> None:
        super().__init__(message)
        self.name = name
        self.namespace = namespace


def _type_name(value: int) -> str:
    return temporalio.api.enums.v1.IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_")


async def _registered(client: temporalio.client.Client, namespace: str) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        temporalio.api.operatorservice.v1.ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


def _missing(
    registered: dict[str, int],
    wanted: Sequence[temporalio.common.SearchAttributeKey[Any]],
    namespace: str,
) -> dict[str, int]:
    """The wanted attributes not registered yet; raises if one exists with another type."""
    missing: dict[str, int] = {}
    for key in wanted:
        want = int(key.indexed_value_type)
        have = registered.get(key.name)
        if have is None:
            missing[key.name] = want
        elif have != want:
            raise SearchAttributeError(
                f"search attribute {key.name!r} in namespace {namespace!r} has type "
                f"{_type_name(have)}, but we need {_type_name(want)}; remove it "
                f"(`temporal operator search-attribute remove --name {key.name} "
                f"-n {namespace}`) or use another namespace",
                name=key.name,
                namespace=namespace,
            )
    return missing


async def ensure_search_attributes(
    client: temporalio.client.Client,
    namespace: str = "default",
    *,
    attributes: Sequence[temporalio.common.SearchAttributeKey[Any]] = _models.SEARCH_ATTRIBUTES,
) -> list[str]:
    """Register the missing `attributes` on `namespace`; returns the names registered now.

    Idempotent, and safe when several workers start at once: if another process registered
    them between our check and our request, the server's refusal is checked and accepted.
    """
    missing = _missing(await _registered(client, namespace), attributes, namespace)
    if not missing:
        logger.debug("search attributes already registered", extra={"namespace": namespace})
        return []
    try:
        await client.operator_service.add_search_attributes(
            temporalio.api.operatorservice.v1.AddSearchAttributesRequest(
                namespace=namespace, search_attributes=missing
            )
        )
    except temporalio.service.RPCError as err:
        # Lost a race with another worker (ALREADY_EXISTS, or INVALID_ARGUMENT "already
        # exists" on some servers)? Then they are all there now; anything else is real.
        still_missing = _missing(await _registered(client, namespace), attributes, namespace)
        if still_missing:
            name = sorted(still_missing)[0]
            raise SearchAttributeError(
                f"could not register search attributes {sorted(still_missing)} on namespace "
                f"{namespace!r}: {err.message} (status {err.status.name}); register them with "
                "`temporal operator search-attribute create` or check the server's limits "
                "(SQL visibility allows 10 Keyword attributes per namespace)",
                name=name,
                namespace=namespace,
            ) from err
        logger.info(
            "search attributes were registered concurrently by another process",
            extra={"namespace": namespace, "search_attributes": sorted(missing)},
        )
        return []
    logger.info(
        "registered search attributes",
        extra={
            "namespace": namespace,
            "search_attributes": {name: _type_name(t) for name, t in sorted(missing.items())},
        },
    )
    return sorted(missing)
