"""Read a running function's step memo from its workflow, page by page.

Temporal caps one query answer like any payload (about 2 MiB without a payload store), while a
run's state may reach 32 MiB: the run workflow answers `__memo_page` with the entries from a
position on, up to a byte budget (at least one entry), and callers ask until it says no more.
"""

from __future__ import annotations

from typing import Any, Final

import temporalio.client

MEMO_PAGE_QUERY: Final = "__memo_page"
PAGE_BYTES: Final = 1024 * 1024


async def fetch_memo(client: temporalio.client.Client, run_id: str) -> dict[str, Any]:
    """The run's whole memo (hashed step id -> {"data"} / {"error"} / event / None)."""
    handle = client.get_workflow_handle(run_id)
    memo: dict[str, Any] = {}
    start: int | None = 0
    while start is not None:
        page: dict[str, Any] = await handle.query(
            MEMO_PAGE_QUERY, {"start": start, "max_bytes": PAGE_BYTES}
        )
        memo.update(page["entries"])
        start = page["next"]
    return memo
