"""The flow-control stack: its own Temporal dev server, worker process (serving flow_app.py) and
gateway process, once per session. Helpers come from tests/e2e/e2e_support.py."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import running_stack  # noqa: E402
from flow_support import FlowStack  # noqa: E402

FLOW_DIR = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
async def flow(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FlowStack]:
    # Entities continue as new every 3 updates, so every test also crosses continue-as-new.
    env = {"INNGEST_TEMPORAL_FLOW_CONTINUE_AS_NEW_AFTER": "3"}
    async with running_stack(
        tmp_path_factory.mktemp("flow"),
        app="flow_app",
        app_id="flow",
        app_dir=FLOW_DIR,
        record_env="FLOW_RECORD_DIR",
        env=env,
        stack_class=FlowStack,
        name_prefix="flow-",
    ) as s:
        assert isinstance(s, FlowStack)
        yield s
