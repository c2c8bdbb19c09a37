"""The end-to-end stack: Temporal dev server + worker process + gateway process, once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from e2e_support import HERE, Stack, running_stack


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    env = {
        "INNGEST_TEMPORAL_MAX_STEPS": "100",
        # Runs longer than this continue as new (tested with 60-step runs; other cases stay below).
        "INNGEST_TEMPORAL_CONTINUE_AS_NEW_AFTER_STEPS": "25",
    }
    async with running_stack(
        tmp_path_factory.mktemp("stack"),
        app="case_app",
        app_id="cases",
        app_dir=HERE,
        record_env="CASE_RECORD_DIR",
        env=env,
    ) as s:
        yield s
